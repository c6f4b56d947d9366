/// The templates of a deployment, as jobs and plans look them up by key while loading.
struct TemplateCatalog {
    var templates: [String: CouponTemplate] = [:]
    /// Keys written in templates.yaml, including those of templates that had errors, so that a
    /// job naming a broken template is not also told the template does not exist.
    var declaredKeys: Set<String> = []

    /// Reads a template key that must name a declared template.
    func templateKey(_ reader: DefinitionReader) -> String? {
        guard let key = reader.string() else { return nil }
        guard declaredKeys.contains(key) else {
            if declaredKeys.isEmpty {
                reader.report("unknown template \"\(key)\" (templates.yaml defines none)")
            } else {
                reader.report(
                    "unknown template \"\(key)\""
                        + SpellingSuggestion.hint(for: key, among: declaredKeys.sorted(), listUpTo: 0))
            }
            return nil
        }
        return key
    }
}
