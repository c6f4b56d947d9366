/// Reads `templates.yaml`: `templates: [ … ]`.
enum CouponTemplateParser {
    static let commonFields = [
        "key", "title", "type", "validity", "start_delay_days", "timezone", "stock", "per_member",
        "reissue_after_days", "stores", "transferable", "member_exclusive",
    ]

    static let typeFields: [CouponType: [String]] = [
        .cash: ["off_fen"],
        .threshold: ["tiers"],
        .discount: ["percent_off", "max_off_fen", "min_spend_fen"],
        .gift: ["sku", "value_fen"],
        .punch: ["uses", "value_fen"],
        .blindbox: ["choices", "min_spend_fen"],
    ]

    /// Adds every template of the file to `catalog`, reporting problems and duplicate keys.
    static func readFile(_ root: DefinitionReader, into catalog: inout TemplateCatalog) {
        guard let mapping = root.mapping() else { return }
        mapping.rejectUnknownKeys(allowed: ["templates"])
        guard let items = mapping.required("templates")?.list(allowEmpty: true) else { return }
        var firstLines: [String: Int] = [:]
        for item in items {
            let (keyReader, template) = read(item)
            guard let keyReader, let key = keyReader.string() else { continue }
            if let line = firstLines[key] {
                keyReader.report("duplicate template key \"\(key)\" (first defined at line \(line))")
                continue
            }
            firstLines[key] = keyReader.line
            catalog.declaredKeys.insert(key)
            if let template {
                catalog.templates[key] = template
            }
        }
    }

    /// One template; the key's reader comes back whenever the key itself is valid, so that
    /// duplicates and references are checked even for a template with other errors.
    static func read(_ reader: DefinitionReader) -> (key: DefinitionReader?, template: CouponTemplate?) {
        let before = reader.diagnostics.count
        guard let mapping = reader.mapping() else { return (nil, nil) }
        let keyReader = mapping.required("key")
        let key = keyReader?.slug(what: "template key")
        let validKeyReader = key == nil ? nil : keyReader
        let title = mapping.value("title")?.nonEmptyString()
        let type = mapping.required("type")?
            .choice(of: CouponType.allCases.map(\.rawValue), what: "coupon type")
            .flatMap(CouponType.init(rawValue:))

        let allTypeFields = CouponType.allCases.flatMap { typeFields[$0] ?? [] }
        if let type {
            let allowed = commonFields + (typeFields[type] ?? [])
            var misplaced: [String: String] = [:]
            for field in allTypeFields where !allowed.contains(field) {
                misplaced[field] = "\(field) is not a field of a \(type.rawValue) template"
            }
            mapping.rejectUnknownKeys(allowed: allowed, misplaced: misplaced)
        } else {
            mapping.rejectUnknownKeys(allowed: commonFields + allTypeFields)
        }

        let couponValue = type.flatMap { value(of: $0, mapping) }
        let couponValidity = mapping.required("validity").flatMap { validity($0) }
        let startDelayDays = mapping.value("start_delay_days")?.int(in: 0...3_650)
        let timeZone = mapping.value("timezone")?.timeZone()
        let stock = mapping.value("stock")?.integer(in: 1...Int64.max)
        let perMember = mapping.value("per_member")?.int(in: 1...Int.max)
        let reissueAfterDays = mapping.value("reissue_after_days")?.int(in: 1...Int.max)
        let storeIds = mapping.value("stores").flatMap { stores($0) }
        let transferable = mapping.value("transferable")?.bool()
        let memberExclusive = mapping.value("member_exclusive")?.bool()

        guard reader.diagnostics.count == before, let key, let couponValue, let couponValidity else {
            return (validKeyReader, nil)
        }
        let template = CouponTemplate(
            key: key,
            title: title,
            kind: couponValue,
            validity: couponValidity,
            startDelayDays: startDelayDays ?? 0,
            timeZone: timeZone ?? DefinitionDefaults.timeZone,
            stock: stock,
            perMemberLimit: perMember,
            reissueAfterDays: reissueAfterDays,
            stores: storeIds ?? [],
            transferable: transferable ?? false,
            memberExclusive: memberExclusive ?? false
        )
        return (validKeyReader, template)
    }

    private static func value(of type: CouponType, _ mapping: DefinitionMappingReader) -> CouponValue? {
        let positive: ClosedRange<Int64> = 1...Int64.max
        let nonNegative: ClosedRange<Int64> = 0...Int64.max
        switch type {
        case .cash:
            return mapping.required("off_fen")?.integer(in: positive).map { .cash(offFen: $0) }
        case .threshold:
            return mapping.required("tiers").flatMap(thresholdTiers).map { .threshold(tiers: $0) }
        case .discount:
            let percentOff = mapping.required("percent_off")?.int(in: 1...99)
            let maxOffFen = mapping.value("max_off_fen").map { $0.integer(in: positive) }
            let minSpendFen = mapping.value("min_spend_fen").map { $0.integer(in: nonNegative) }
            guard let percentOff, maxOffFen != .some(nil), minSpendFen != .some(nil) else { return nil }
            return .discount(percentOff: percentOff, maxOffFen: maxOffFen ?? nil, minSpendFen: minSpendFen ?? nil)
        case .gift:
            let sku = mapping.required("sku")?.nonEmptyString()
            let valueFen = mapping.required("value_fen")?.integer(in: positive)
            guard let sku, let valueFen else { return nil }
            return .gift(sku: sku, valueFen: valueFen)
        case .punch:
            let uses = mapping.required("uses")?.int(in: 2...Int.max)
            let valueFen = mapping.required("value_fen")?.integer(in: positive)
            guard let uses, let valueFen else { return nil }
            return .punch(uses: uses, valueFen: valueFen)
        case .blindbox:
            let minSpendFen = mapping.value("min_spend_fen").map { $0.integer(in: nonNegative) }
            guard minSpendFen != .some(nil) else { return nil }
            let choices = mapping.required("choices").flatMap { blindBoxChoices($0, minSpendFen: minSpendFen ?? nil) }
            return choices.map { .blindbox(choices: $0, minSpendFen: minSpendFen ?? nil) }
        }
    }

    /// At least one tier; each off below its minimum spend; both rising from tier to tier.
    private static func thresholdTiers(_ reader: DefinitionReader) -> [ThresholdTier]? {
        let before = reader.diagnostics.count
        guard let items = reader.list() else { return nil }
        var tiers: [ThresholdTier] = []
        for item in items {
            guard let mapping = item.mapping() else { continue }
            mapping.rejectUnknownKeys(allowed: ["min_spend_fen", "off_fen"])
            let minSpendReader = mapping.required("min_spend_fen")
            let offReader = mapping.required("off_fen")
            guard let minSpendReader, let offReader,
                let minSpend = minSpendReader.integer(in: 1...Int64.max),
                let off = offReader.integer(in: 1...Int64.max)
            else { continue }
            if off >= minSpend {
                offReader.report("off_fen (\(off)) must be less than min_spend_fen (\(minSpend))")
            }
            if let previous = tiers.last {
                if minSpend <= previous.minSpendFen {
                    minSpendReader.report(
                        "must be greater than the previous tier's min_spend_fen (\(previous.minSpendFen))")
                }
                if off <= previous.offFen {
                    offReader.report("must be greater than the previous tier's off_fen (\(previous.offFen))")
                }
            }
            tiers.append(ThresholdTier(minSpendFen: minSpend, offFen: off))
        }
        return reader.diagnostics.count == before ? tiers : nil
    }

    /// At least two weighted choices; with a minimum spend, each amount off stays below it.
    private static func blindBoxChoices(_ reader: DefinitionReader, minSpendFen: Int64?) -> [BlindBoxChoice]? {
        let before = reader.diagnostics.count
        guard let items = reader.list() else { return nil }
        if items.count < 2 {
            reader.report("needs at least 2 choices, got \(items.count)")
        }
        var choices: [BlindBoxChoice] = []
        for item in items {
            guard let mapping = item.mapping() else { continue }
            mapping.rejectUnknownKeys(allowed: ["off_fen", "weight"])
            let offReader = mapping.required("off_fen")
            let off = offReader?.integer(in: 1...Int64.max)
            let weight = mapping.required("weight")?.int(in: 1...1_000_000)
            guard let offReader, let off, let weight else { continue }
            if let minSpendFen, minSpendFen > 0, off >= minSpendFen {
                offReader.report("off_fen (\(off)) must be less than min_spend_fen (\(minSpendFen))")
            }
            choices.append(BlindBoxChoice(offFen: off, weight: weight))
        }
        return reader.diagnostics.count == before ? choices : nil
    }

    /// `{days: N}` or `{from: DATE, until: DATE}` with from <= until.
    private static func validity(_ reader: DefinitionReader) -> CouponValidity? {
        guard let mapping = reader.mapping() else { return nil }
        mapping.rejectUnknownKeys(allowed: ["days", "from", "until"])
        let hasWindow = mapping.has("from") || mapping.has("until")
        if let days = mapping.value("days") {
            if hasWindow {
                reader.report("give either days or from and until, not both")
                return nil
            }
            return days.int(in: 1...3_650).map { .days($0) }
        }
        guard hasWindow else {
            if mapping.keys.allSatisfy({ ["days", "from", "until"].contains($0) }) {
                reader.report("needs days, or from and until")
            }
            return nil
        }
        let from = mapping.required("from")?.calendarDay()
        let untilReader = mapping.required("until")
        let until = untilReader?.calendarDay()
        guard let from, let until, let untilReader else { return nil }
        guard from <= until else {
            untilReader.report("until (\(until)) is before from (\(from))")
            return nil
        }
        return .window(from: from, until: until)
    }

    /// A list of store ids (empty means all stores) or a single one.
    private static func stores(_ reader: DefinitionReader) -> [String]? {
        if case .sequence(let sequence) = reader.node, sequence.isEmpty {
            return []
        }
        return reader.strings()
    }
}
