import Foundation

/// Reads `sinks.yaml`: `sinks: [ … ]`, where notifications go.
enum NotificationSinkParser {
    static let types = ["webhook", "file", "stdout"]
    static let commonFields = ["name", "type", "batch_size", "max_attempts", "backoff", "max_backoff"]
    static let typeFields: [String: [String]] = [
        "webhook": ["url", "secret_env", "secret_file", "timeout"],
        "file": ["path"],
        "stdout": [],
    ]

    static func readFile(_ root: DefinitionReader) -> SinkCatalog {
        var catalog = SinkCatalog()
        guard let mapping = root.mapping() else { return catalog }
        mapping.rejectUnknownKeys(allowed: ["sinks"])
        guard let items = mapping.required("sinks")?.list(allowEmpty: true) else { return catalog }
        var firstLines: [String: Int] = [:]
        for item in items {
            let before = item.diagnostics.count
            guard let sink = item.mapping() else { continue }
            let nameReader = sink.required("name")
            let name = nameReader?.slug(what: "sink name")
            if let name { catalog.declaredNames.insert(name) }
            let type = sink.required("type")?.choice(of: types, what: "sink type")
            if let type {
                let allowed = commonFields + (typeFields[type] ?? [])
                var misplaced: [String: String] = [:]
                for (other, fields) in typeFields where other != type {
                    for field in fields where !allowed.contains(field) {
                        misplaced[field] = "\(field) is not a field of a \(type) sink"
                    }
                }
                sink.rejectUnknownKeys(allowed: allowed, misplaced: misplaced)
            } else {
                sink.rejectUnknownKeys(allowed: commonFields + typeFields.values.flatMap { $0 })
            }
            let batchSize = sink.value("batch_size")?.int(in: 1...10_000)
            let maxAttempts = sink.value("max_attempts")?.int(in: 1...1_000)
            let backoff = sink.value("backoff")?.durationSeconds(allowZero: true)
            let maxBackoff = sink.value("max_backoff")?.durationSeconds()
            var destination: NotificationSink.Destination?
            switch type {
            case "webhook": destination = readWebhook(sink)
            case "file": destination = sink.required("path")?.nonEmptyString().map { .file(path: $0) }
            case "stdout": destination = .stdout
            default: break
            }
            guard let name, let nameReader else { continue }
            if let line = firstLines[name] {
                nameReader.report("duplicate sink name \"\(name)\" (first defined at line \(line))")
                continue
            }
            firstLines[name] = nameReader.line
            guard item.diagnostics.count == before, let destination else { continue }
            catalog.sinks[name] = NotificationSink(
                name: name, destination: destination, batchSize: batchSize ?? 500, maxAttempts: maxAttempts ?? 10,
                backoffSeconds: backoff ?? 1, maxBackoffSeconds: maxBackoff ?? 600)
        }
        return catalog
    }

    private static func readWebhook(_ sink: DefinitionMappingReader) -> NotificationSink.Destination? {
        var url: URL?
        if let reader = sink.required("url"), let text = reader.string() {
            if let parsed = URL(string: text), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
                parsed.host?.isEmpty == false
            {
                url = parsed
            } else {
                reader.report("invalid URL \"\(text)\" (use http:// or https:// with a host)")
            }
        }
        let timeout = sink.value("timeout")?.durationSeconds()
        var secret: NotificationSink.SecretSource?
        switch (sink.value("secret_env"), sink.value("secret_file")) {
        case (.some(let env), .none): secret = env.nonEmptyString().map { .environment($0) }
        case (.none, .some(let file)): secret = file.nonEmptyString().map { .file($0) }
        case (.some(let env), .some):
            env.report("give either secret_env or secret_file, not both")
        case (.none, .none):
            sink.reportMissing("secret_env", note: " (or secret_file): webhooks are always signed")
        }
        guard let url, let secret else { return nil }
        return .webhook(url: url, secret: secret, timeoutSeconds: timeout ?? 10)
    }
}

/// The sinks of `sinks.yaml`, for checking the `sink:` of job files.
struct SinkCatalog {
    var sinks: [String: NotificationSink] = [:]
    /// Names written in sinks.yaml, including those of sinks that had errors, so that a job
    /// naming a broken sink is not also told the sink does not exist.
    var declaredNames: Set<String> = []

    /// Reads a sink name that must name a declared sink.
    func sinkName(_ reader: DefinitionReader) -> String? {
        guard let name = reader.string() else { return nil }
        guard declaredNames.contains(name) else {
            if declaredNames.isEmpty {
                reader.report("unknown sink \"\(name)\" (sinks.yaml defines none)")
            } else {
                reader.report(
                    "unknown sink \"\(name)\"" + SpellingSuggestion.hint(for: name, among: declaredNames.sorted(), listUpTo: 0))
            }
            return nil
        }
        return name
    }
}
