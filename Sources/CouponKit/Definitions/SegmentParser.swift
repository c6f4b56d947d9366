import Foundation

/// Reads the `segment:` of a job file into a `Segment`, reporting every problem.
enum SegmentParser {
    static let conditionKeys = [
        "all", "any", "not", "tier", "tags_any", "tags_all", "total_spend_fen", "order_count",
        "last_order_within_days", "dormant_days", "registered_within_days", "home_store", "rfm", "list", "sql",
    ]

    /// The job's own `segment:`, where a mapping of several conditions means all of them.
    /// `jobDirectory` is the directory of the job file, against which `list:` paths resolve.
    static func readJobSegment(_ reader: DefinitionReader, jobDirectory: String) -> Segment? {
        guard case .mapping = reader.node else {
            return read(reader, jobDirectory: jobDirectory)
        }
        guard let mapping = reader.mapping() else { return nil }
        guard !mapping.isEmpty else {
            reader.report("must have at least one condition (or be \"everyone\")")
            return nil
        }
        let conditions = mapping.entries.map { entry in
            condition(entry, jobDirectory: jobDirectory)
        }
        let segments = conditions.compactMap { $0 }
        guard segments.count == conditions.count else { return nil }
        return segments.count == 1 ? segments[0] : .all(segments)
    }

    /// A nested segment: `everyone`, or a mapping of exactly one condition.
    static func read(_ reader: DefinitionReader, jobDirectory: String) -> Segment? {
        switch reader.node {
        case .scalar where !reader.isNull:
            if reader.string() == "everyone" {
                return .everyone
            }
            reader.reportType(expected: "\"everyone\" or a mapping with one condition")
            return nil
        case .mapping:
            guard let mapping = reader.mapping() else { return nil }
            guard mapping.entries.count == 1 else {
                if mapping.isEmpty {
                    reader.report("a segment needs exactly one condition, got none")
                } else {
                    reader.report(
                        "a segment needs exactly one condition, got \(mapping.entries.count) "
                            + "(\(mapping.keys.joined(separator: ", "))); combine them with all:")
                }
                return nil
            }
            return condition(mapping.entries[0], jobDirectory: jobDirectory)
        default:
            reader.reportType(expected: "a segment (\"everyone\" or a mapping with one condition)")
            return nil
        }
    }

    private static func condition(_ entry: DefinitionMappingReader.Entry, jobDirectory: String) -> Segment? {
        let value = entry.value
        switch entry.key {
        case "all", "any":
            guard let items = value.list() else { return nil }
            let parts = items.map { read($0, jobDirectory: jobDirectory) }
            let segments = parts.compactMap { $0 }
            guard segments.count == parts.count else { return nil }
            return entry.key == "all" ? .all(segments) : .any(segments)
        case "not":
            return read(value, jobDirectory: jobDirectory).map { .not($0) }
        case "tier":
            return tiers(value).map { .tier($0) }
        case "tags_any":
            return value.strings().map { .tagsAny($0) }
        case "tags_all":
            return value.strings().map { .tagsAll($0) }
        case "total_spend_fen":
            return range(value, allowed: 0...Int64.max).map { .totalSpendFen($0) }
        case "order_count":
            return range(value, allowed: 0...Int64.max).map { .orderCount($0) }
        case "last_order_within_days":
            return value.int(in: 1...Int.max).map { .lastOrderWithinDays($0) }
        case "dormant_days":
            return value.int(in: 1...Int.max).map { .dormantDays($0) }
        case "registered_within_days":
            return value.int(in: 1...Int.max).map { .registeredWithinDays($0) }
        case "home_store":
            return value.strings().map { .homeStore($0) }
        case "rfm":
            return rfm(value).map { .rfm($0) }
        case "list":
            return listFile(value, jobDirectory: jobDirectory).map { .list(path: $0) }
        case "sql":
            return value.nonEmptyString().map { .sql($0) }
        default:
            entry.keyReader.report(
                "unknown condition \"\(entry.key)\""
                    + SpellingSuggestion.hint(for: entry.key, among: conditionKeys, listUpTo: 0))
            return nil
        }
    }

    private static func tiers(_ reader: DefinitionReader) -> [MemberTier]? {
        guard let items = reader.scalarOrList() else { return nil }
        let names = MemberTier.allCases.map(\.rawValue)
        var tiers: [MemberTier] = []
        var failed = false
        for item in items {
            guard let name = item.choice(of: names, what: "tier"), let tier = MemberTier(rawValue: name) else {
                failed = true
                continue
            }
            if !tiers.contains(tier) {
                tiers.append(tier)
            }
        }
        return failed ? nil : tiers
    }

    /// `{min: N, max: N}` with at least one bound, both within `allowed`, and min <= max.
    static func range(_ reader: DefinitionReader, allowed: ClosedRange<Int64>) -> BoundedRange? {
        guard let mapping = reader.mapping() else { return nil }
        let hasUnknownKeys = !mapping.keys.allSatisfy { $0 == "min" || $0 == "max" }
        mapping.rejectUnknownKeys(allowed: ["min", "max"])
        var failed = hasUnknownKeys
        var lower: Int64?
        var upper: Int64?
        if let value = mapping.value("min") {
            lower = value.integer(in: allowed)
            failed = failed || lower == nil
        }
        if let value = mapping.value("max") {
            upper = value.integer(in: allowed)
            failed = failed || upper == nil
        }
        if !mapping.has("min"), !mapping.has("max") {
            if !hasUnknownKeys {
                reader.report("needs min, max or both")
            }
            return nil
        }
        if let lower, let upper, lower > upper {
            reader.report("min (\(lower)) is greater than max (\(upper))")
            return nil
        }
        return failed ? nil : BoundedRange(min: lower, max: upper)
    }

    private static func rfm(_ reader: DefinitionReader) -> RFMFilter? {
        guard let mapping = reader.mapping() else { return nil }
        let dimensions = ["recency", "frequency", "monetary"]
        let hasUnknownKeys = !mapping.keys.allSatisfy(dimensions.contains)
        mapping.rejectUnknownKeys(allowed: dimensions)
        guard dimensions.contains(where: mapping.has) else {
            if !hasUnknownKeys {
                reader.report("needs at least one of recency, frequency, monetary")
            }
            return nil
        }
        var scores: [String: [Int]] = [:]
        var failed = hasUnknownKeys
        for dimension in dimensions {
            guard let value = mapping.value(dimension) else { continue }
            if let set = rfmScores(value) {
                scores[dimension] = set
            } else {
                failed = true
            }
        }
        guard !failed else { return nil }
        return RFMFilter(recency: scores["recency"], frequency: scores["frequency"], monetary: scores["monetary"])
    }

    /// An RFM score `5`, a list `[4, 5]` or a range `{min: 3}`, as the sorted scores it admits.
    private static func rfmScores(_ reader: DefinitionReader) -> [Int]? {
        let bounds = Int64(RFMFilter.scores.lowerBound)...Int64(RFMFilter.scores.upperBound)
        switch reader.node {
        case .sequence:
            guard let items = reader.list() else { return nil }
            let values = items.map { $0.integer(in: bounds) }
            guard values.allSatisfy({ $0 != nil }) else { return nil }
            return Set(values.compactMap { $0.map { Int($0) } }).sorted()
        case .mapping:
            guard let range = range(reader, allowed: bounds) else { return nil }
            let lower = Int(range.min ?? bounds.lowerBound)
            let upper = Int(range.max ?? bounds.upperBound)
            return Array(lower...upper)
        default:
            guard case .scalar = reader.node, reader.tagName == .int else {
                reader.reportType(expected: "a score 1-5, a list of scores or {min, max}")
                return nil
            }
            return reader.integer(in: bounds).map { [Int($0)] }
        }
    }

    /// The absolute path of a `list:` file, which must exist.
    private static func listFile(_ reader: DefinitionReader, jobDirectory: String) -> String? {
        guard let path = reader.nonEmptyString() else { return nil }
        let base =
            jobDirectory.hasPrefix("/")
            ? jobDirectory
            : FileManager.default.currentDirectoryPath + "/" + jobDirectory
        let joined = path.hasPrefix("/") ? path : base + "/" + path
        let resolved = URL(fileURLWithPath: joined).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory) else {
            reader.report("list file \"\(path)\" does not exist")
            return nil
        }
        guard !isDirectory.boolValue else {
            reader.report("list file \"\(path)\" is a directory")
            return nil
        }
        return resolved
    }
}
