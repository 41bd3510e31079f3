/// Object names of live events (SPEC §9). An object-version event is written under exactly the name an
/// initialisation gives that version (`ObjectNaming` and `ObjectVersion.relativeName`), so a redelivery, or the
/// stream after an initialisation, overwrites the same object; any other event under
/// `<folder>/<topic>/<partition>-<offset, 20 digits>.json`, unique per message.
public enum LiveEventNaming {
    public static func objectName(of event: LiveEvent, content: LiveEventContent, naming: ObjectNaming) throws(UnsafeFolderError) -> String {
        let folder = try naming.folder(of: content.document)
        switch content {
        case .objectVersion(let version, _):
            return "\(folder)/\(version.relativeName)"
        case .plain:
            return "\(folder)/\(event.topic)/\(event.partition)-\(paddedOffset(event.offset)).json"
        }
    }

    /// The offset in 20 digits, zero-padded (an Int64 has at most 19): names sort in offset order.
    public static func paddedOffset(_ offset: Int64) -> String {
        let digits = String(offset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }
}
