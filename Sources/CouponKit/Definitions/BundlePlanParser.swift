import Foundation
import Yams

/// Reads `plans.yaml`: `plans: [ … ]`, the subscription bundles.
enum BundlePlanParser {
    static let fields = [
        "key", "title", "price_fen", "term_months", "every_months", "delivery", "at", "timezone", "welcome", "coupons",
        "exclusive_label",
    ]

    static func readFile(_ root: DefinitionReader, catalog: TemplateCatalog) -> [String: BundlePlan] {
        guard let mapping = root.mapping() else { return [:] }
        mapping.rejectUnknownKeys(allowed: ["plans"])
        guard let items = mapping.required("plans")?.list(allowEmpty: true) else { return [:] }
        var plans: [String: BundlePlan] = [:]
        var firstLines: [String: Int] = [:]
        for item in items {
            let before = item.diagnostics.count
            guard let plan = item.mapping() else { continue }
            plan.rejectUnknownKeys(allowed: fields)
            let keyReader = plan.required("key")
            let key = keyReader?.slug(what: "plan key")
            let title = plan.value("title")?.nonEmptyString()
            let priceFen = plan.required("price_fen")?.integer(in: 0...Int64.max)
            let termMonths = plan.value("term_months")?.int(in: 1...120)
            let everyMonths = plan.value("every_months")?.int(in: 1...12)
            let delivery = plan.value("delivery").flatMap(readDeliveryDay)
            let at = plan.value("at").flatMap(readLocalTime)
            let zone = plan.value("timezone")?.timeZone()
            let coupons = plan.required("coupons").flatMap { readGrants($0, catalog: catalog) }
            let welcome = plan.value("welcome").flatMap { readGrants($0, catalog: catalog) }
            let label = plan.value("exclusive_label")?.nonEmptyString()
            guard let key, let keyReader else { continue }
            if let line = firstLines[key] {
                keyReader.report("duplicate plan key \"\(key)\" (first defined at line \(line))")
                continue
            }
            firstLines[key] = keyReader.line
            guard item.diagnostics.count == before, let priceFen, let coupons else { continue }
            let schedule = BundleSchedule(
                everyMonths: everyMonths ?? 1, deliveryDay: delivery ?? .anniversary, atMinutes: at ?? 9 * 60,
                timeZone: zone ?? DefinitionDefaults.timeZone)
            plans[key] = BundlePlan(
                key: key, title: title, priceFen: priceFen, termMonths: termMonths ?? 12, coupons: coupons,
                welcome: welcome ?? [], schedule: schedule, exclusiveLabel: label)
        }
        return plans
    }

    /// Coupon lines of a plan. A template with a per-member cap or a reissue interval would make
    /// a paid period deliver in part (or not at all), so plans refuse them.
    private static func readGrants(_ reader: DefinitionReader, catalog: TemplateCatalog) -> [CouponGrant]? {
        guard let grants = CouponGrantParser.read(reader, catalog: catalog) else { return nil }
        var ok = true
        for grant in grants {
            guard let template = catalog.templates[grant.templateKey] else { continue }
            if template.perMemberLimit != nil || template.reissueAfterDays != nil {
                reader.report(
                    "template \"\(grant.templateKey)\" has per_member or reissue_after_days, which a subscription's "
                        + "every-period delivery cannot honour; give the plan a template without them")
                ok = false
            }
        }
        return ok ? grants : nil
    }

    /// `anniversary` or a day 1...28.
    private static func readDeliveryDay(_ reader: DefinitionReader) -> BundleDeliveryDay? {
        if reader.tagName == .int {
            return reader.int(in: 1...28).map { .day($0) }
        }
        guard let text = reader.string() else { return nil }
        guard text == "anniversary" else {
            reader.report("expected anniversary or a day of the month 1-28, got \"\(text)\"")
            return nil
        }
        return .anniversary
    }

    /// `HH:MM`, 24-hour, as minutes after midnight.
    private static func readLocalTime(_ reader: DefinitionReader) -> Int? {
        guard let text = reader.string() else { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
            let hour = Int(parts[0]), let minute = Int(parts[1]), (0...23).contains(hour), (0...59).contains(minute)
        else {
            reader.report("expected a local time HH:MM (24-hour), got \"\(text)\"")
            return nil
        }
        return hour * 60 + minute
    }
}
