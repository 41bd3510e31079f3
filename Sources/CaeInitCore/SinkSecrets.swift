/// Secrets of a sink sent back by a client that read them masked (SPEC §2): the masked form keeps the stored
/// secret, so a client that reads, edits and posts a sink never overwrites a secret with its mask.
public enum SinkSecrets {
    /// `sink` with every secret credential equal to the masked form of the same credential of `stored` replaced
    /// by the stored secret. Anything else (a new secret, another sink type's fields) is left as sent.
    public static func restoringMasked(in sink: JSONObject, from stored: JSONObject) -> JSONObject {
        guard case .object(var credentials)? = sink["credentials"],
              case .object(let storedCredentials)? = stored["credentials"] else { return sink }
        var restored = sink
        for field in SinkConfiguration.secretFields {
            guard case .string(let sent)? = credentials[field], case .string(let secret)? = storedCredentials[field] else { continue }
            if sent == Secret.mask(secret) { credentials[field] = .string(secret) }
        }
        restored["credentials"] = .object(credentials)
        return restored
    }
}
