/// The entries of a YAML mapping with their paths, for field-by-field strict reading.
struct DefinitionMappingReader {
    struct Entry {
        let key: String
        /// Positioned at the key, for errors about the key itself (unknown field).
        let keyReader: DefinitionReader
        let value: DefinitionReader
    }

    /// The mapping node itself, for errors about the mapping as a whole (a missing field).
    let reader: DefinitionReader
    let entries: [Entry]

    var keys: [String] { entries.map(\.key) }
    var isEmpty: Bool { entries.isEmpty }

    func has(_ key: String) -> Bool {
        entries.contains { $0.key == key }
    }

    /// The value of `key`, or nil when absent. A null value (`key:` with nothing after it) counts
    /// as present, so that it is reported as a wrong type instead of silently meaning "default".
    func value(_ key: String) -> DefinitionReader? {
        entries.first { $0.key == key }?.value
    }

    /// The value of `key`; reports `required field is missing` at the mapping when absent.
    func required(_ key: String) -> DefinitionReader? {
        if let value = value(key) {
            return value
        }
        reportMissing(key)
        return nil
    }

    func reportMissing(_ key: String, note: String = "") {
        reader.report("required field is missing" + note, path: fieldPath(key))
    }

    func fieldPath(_ key: String) -> String {
        reader.path.isEmpty ? key : "\(reader.path).\(key)"
    }

    /// Reports every key not in `allowed` at the key's position. A key in `misplaced` is a field
    /// of something else (`off_fen` on a discount template) and gets that message instead of a
    /// spelling hint; other keys get `unknown field "x" (did you mean "y"?)`.
    func rejectUnknownKeys(allowed: [String], misplaced: [String: String] = [:]) {
        for entry in entries where !allowed.contains(entry.key) {
            if let message = misplaced[entry.key] {
                entry.keyReader.report(message)
            } else {
                entry.keyReader.report(
                    "unknown field \"\(entry.key)\""
                        + SpellingSuggestion.hint(for: entry.key, among: allowed, listUpTo: 0))
            }
        }
    }
}
