/// Reads `coupons: [{template: KEY, quantity: N}, …]` of jobs, variants and plans.
enum CouponGrantParser {
    /// A non-empty list naming each template once; every template must exist in `catalog`.
    static func read(_ reader: DefinitionReader, catalog: TemplateCatalog) -> [CouponGrant]? {
        let before = reader.diagnostics.count
        guard let items = reader.list() else { return nil }
        var grants: [CouponGrant] = []
        for item in items {
            guard let mapping = item.mapping() else { continue }
            mapping.rejectUnknownKeys(allowed: ["template", "quantity"])
            let quantityReader = mapping.value("quantity")
            let quantity = quantityReader?.int(in: 1...Int.max)
            guard let templateReader = mapping.required("template"),
                let key = catalog.templateKey(templateReader)
            else { continue }
            // More than the lifetime cap could never be issued: every run would stop short.
            if let quantity, let quantityReader, let limit = catalog.templates[key]?.perMemberLimit, quantity > limit {
                quantityReader.report(
                    "quantity \(quantity) exceeds template \"\(key)\"'s per_member \(limit); no member could ever get them all")
            }
            if grants.contains(where: { $0.templateKey == key }) {
                templateReader.report("template \"\(key)\" is listed twice; raise its quantity instead")
                continue
            }
            grants.append(CouponGrant(templateKey: key, quantity: quantity ?? 1))
        }
        return reader.diagnostics.count == before ? grants : nil
    }
}
