/// JSON Merge Patch (RFC 7396): how `PUT /sink` merges a partial sink into the stored one.
public enum JSONMergePatch {
    /// `patch` applied to `target`: an object patch merges member by member (`null` removes the member), any
    /// other patch replaces the target.
    public static func apply(_ patch: JSONValue, to target: JSONValue) -> JSONValue {
        guard case .object(let patchObject) = patch else { return patch }
        var result = target.objectValue ?? JSONObject()
        for (key, value) in patchObject {
            if value.isNull {
                result[key] = nil
            } else {
                result[key] = apply(value, to: result[key] ?? .null)
            }
        }
        return .object(result)
    }
}
