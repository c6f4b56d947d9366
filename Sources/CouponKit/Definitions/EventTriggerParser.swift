/// Reads a job's `trigger:` mapping: `{event: payment, where: {amount_fen: {min: 10000}}, within: 1h}`.
enum EventTriggerParser {
    /// Fields an event can be filtered on in `where:`.
    static let filterFields = ["amount_fen"]

    static func read(_ reader: DefinitionReader) -> EventTrigger? {
        let before = reader.diagnostics.count
        guard let mapping = reader.mapping() else { return nil }
        mapping.rejectUnknownKeys(allowed: ["event", "where", "within"])
        var eventType: String?
        if let eventReader = mapping.required("event"), let text = eventReader.string() {
            if MemberEventType.isValid(text) {
                eventType = text
            } else {
                eventReader.report("event type \"\(text)\" must be lowercase letters, digits, - or _ (e.g. payment)")
            }
        }
        var amount: BoundedRange?
        if let whereReader = mapping.value("where"), let filter = whereReader.mapping() {
            filter.rejectUnknownKeys(allowed: filterFields)
            amount = filter.value("amount_fen").flatMap { SegmentParser.range($0, allowed: 0...Int64.max) }
        }
        let within = mapping.value("within")?.durationSeconds()
        guard reader.diagnostics.count == before, let eventType else { return nil }
        return EventTrigger(
            eventType: eventType, amountFen: amount, withinSeconds: within ?? DefinitionDefaults.triggerWithinSeconds)
    }
}

/// The rule `member_events.type` is checked against (the table's CHECK says the same).
public enum MemberEventType {
    public static func isValid(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, ("a"..."z").contains(first), text.count <= 63 else { return false }
        return text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }
}
