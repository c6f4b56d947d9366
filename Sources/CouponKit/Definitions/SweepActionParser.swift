/// Reads the fields of `kind: remind` and `kind: expire` job files.
enum SweepActionParser {
    static let remindFields = ["remind", "quiet_hours", "sink", "chunk_size"]
    static let expireFields = ["templates", "notify", "sink", "quiet_hours", "chunk_size"]

    static func readRemind(
        _ mapping: DefinitionMappingReader, jobDirectory: String, catalog: TemplateCatalog, sinks: SinkCatalog
    ) -> RemindAction? {
        let before = mapping.reader.diagnostics.count
        var beforeSeconds: Int?
        var templates: [String] = []
        var segment: Segment?
        if let remind = mapping.required("remind")?.mapping() {
            remind.rejectUnknownKeys(allowed: ["before", "templates", "segment"])
            beforeSeconds = remind.required("before")?.durationSeconds()
            templates = remind.value("templates").flatMap { readTemplates($0, catalog: catalog) } ?? []
            segment = remind.value("segment").flatMap { SegmentParser.readJobSegment($0, jobDirectory: jobDirectory) }
        }
        let sink = mapping.required("sink").flatMap(sinks.sinkName)
        let quiet = mapping.value("quiet_hours").flatMap(readQuietHours)
        let chunkSize = mapping.value("chunk_size")?.int(in: 100...1_000_000)
        guard mapping.reader.diagnostics.count == before, let beforeSeconds, let sink else { return nil }
        return RemindAction(
            beforeSeconds: beforeSeconds, templateKeys: templates, segment: segment, sink: sink, quietHours: quiet,
            chunkSize: chunkSize ?? DefinitionDefaults.sweepChunkSize)
    }

    static func readExpire(_ mapping: DefinitionMappingReader, catalog: TemplateCatalog, sinks: SinkCatalog)
        -> ExpireAction?
    {
        let before = mapping.reader.diagnostics.count
        let templates = mapping.value("templates").flatMap { readTemplates($0, catalog: catalog) } ?? []
        let notify = mapping.value("notify")?.bool() ?? false
        var sink: String?
        if let sinkReader = mapping.value("sink") {
            sink = sinks.sinkName(sinkReader)
            if !notify, sink != nil { sinkReader.report("a sink is used only with notify: true") }
        } else if notify {
            mapping.reportMissing("sink", note: " (notify: true sends through a sink)")
        }
        let quiet = mapping.value("quiet_hours").flatMap(readQuietHours)
        let chunkSize = mapping.value("chunk_size")?.int(in: 100...1_000_000)
        guard mapping.reader.diagnostics.count == before else { return nil }
        return ExpireAction(
            templateKeys: templates, notifySink: notify ? sink : nil, quietHours: quiet,
            chunkSize: chunkSize ?? DefinitionDefaults.sweepChunkSize)
    }

    /// A non-empty list of declared template keys, each once.
    private static func readTemplates(_ reader: DefinitionReader, catalog: TemplateCatalog) -> [String]? {
        guard let items = reader.scalarOrList() else { return nil }
        var keys: [String] = []
        for item in items {
            guard let key = catalog.templateKey(item) else { continue }
            if keys.contains(key) {
                item.report("template \"\(key)\" is listed twice")
                continue
            }
            keys.append(key)
        }
        return keys
    }

    private static func readQuietHours(_ reader: DefinitionReader) -> QuietHours? {
        guard let text = reader.string() else { return nil }
        guard let quiet = QuietHours(text: text) else {
            reader.report("invalid quiet hours \"\(text)\" (use HH:MM-HH:MM in the job's zone, e.g. \"22:00-08:00\")")
            return nil
        }
        return quiet
    }
}
