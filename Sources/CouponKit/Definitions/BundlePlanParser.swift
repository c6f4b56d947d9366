/// Reads `plans.yaml`: `plans: [ … ]`, the subscription bundles.
enum BundlePlanParser {
    static func readFile(_ root: DefinitionReader, catalog: TemplateCatalog) -> [String: BundlePlan] {
        guard let mapping = root.mapping() else { return [:] }
        mapping.rejectUnknownKeys(allowed: ["plans"])
        guard let items = mapping.required("plans")?.list(allowEmpty: true) else { return [:] }
        var plans: [String: BundlePlan] = [:]
        var firstLines: [String: Int] = [:]
        for item in items {
            let before = item.diagnostics.count
            guard let plan = item.mapping() else { continue }
            plan.rejectUnknownKeys(allowed: ["key", "title", "price_fen", "coupons"])
            let keyReader = plan.required("key")
            let key = keyReader?.slug(what: "plan key")
            let title = plan.value("title")?.nonEmptyString()
            let priceFen = plan.required("price_fen")?.integer(in: 0...Int64.max)
            let coupons = plan.required("coupons").flatMap { CouponGrantParser.read($0, catalog: catalog) }
            guard let key, let keyReader else { continue }
            if let line = firstLines[key] {
                keyReader.report("duplicate plan key \"\(key)\" (first defined at line \(line))")
                continue
            }
            firstLines[key] = keyReader.line
            guard item.diagnostics.count == before, let priceFen, let coupons else { continue }
            plans[key] = BundlePlan(key: key, title: title, priceFen: priceFen, coupons: coupons)
        }
        return plans
    }
}
