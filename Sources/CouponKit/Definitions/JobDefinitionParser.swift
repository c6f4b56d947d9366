/// Reads one job file into a `JobDefinition`.
enum JobDefinitionParser {
    /// Said of a schedule with no month holding any of its days (`0 0 30 2 *`).
    static let neverFires = "this schedule never fires: no selected month has a selected day (e.g. 30 February)"
    static let commonFields = [
        "name", "description", "kind", "schedule", "trigger", "manual_only", "timezone", "concurrency", "catch_up",
        "starting_deadline", "max_catch_up", "retry", "timeout",
    ]

    static let kindFields: [JobKind: [String]] = [
        .issue: ["segment", "coupons", "variants", "chunk_size"],
        .noop: ["sleep_ms", "chunks", "fail"],
        .remind: SweepActionParser.remindFields,
        .expire: SweepActionParser.expireFields,
        .bundle: ["plans", "chunk_size", "sink"],
        .prune: ["older_than", "batch_size"],
    ]

    struct Outcome {
        /// The `name:` value, when it is valid, even if other fields are not: duplicate names
        /// across files are checked with it.
        let nameReader: DefinitionReader?
        let name: String?
        let job: JobDefinition?
    }

    /// `jobDirectory` is the directory of the file as given, for `list:` segments.
    static func read(
        _ root: DefinitionReader, jobDirectory: String, catalog: TemplateCatalog, sinks: SinkCatalog = SinkCatalog(),
        plans: [String: BundlePlan] = [:]
    ) -> Outcome {
        let before = root.diagnostics.count
        guard let mapping = root.mapping() else { return Outcome(nameReader: nil, name: nil, job: nil) }

        let nameReader = mapping.required("name")
        let name = nameReader?.slug(what: "job name")
        let summary = mapping.value("description")?.string()
        let kind = readKind(mapping)

        var allKindFields: [String] = []
        for field in JobKind.allCases.flatMap({ kindFields[$0] ?? [] }) where !allKindFields.contains(field) {
            allKindFields.append(field)
        }
        if let kind {
            let allowed = commonFields + (kindFields[kind] ?? [])
            var misplaced: [String: String] = [:]
            let article = kind == .issue ? "an" : "a"
            for field in allKindFields where !allowed.contains(field) {
                misplaced[field] = "\(field) is not a field of \(article) \(kind.rawValue) job"
            }
            mapping.rejectUnknownKeys(allowed: allowed, misplaced: misplaced)
        } else {
            mapping.rejectUnknownKeys(allowed: commonFields + allKindFields)
        }

        let manualOnlyReader = mapping.value("manual_only")
        let manualOnlyValue = manualOnlyReader?.bool()
        let manualOnly = manualOnlyValue ?? false
        // With manual_only itself wrong, whether a schedule is required is unknown: say nothing.
        let manualOnlyKnown = manualOnlyReader == nil || manualOnlyValue != nil
        var schedule: CronExpression?
        let triggerReader = mapping.value("trigger")
        let trigger = triggerReader.flatMap(EventTriggerParser.read)
        if let triggerReader {
            if kind != nil, kind != .issue {
                triggerReader.report("only an issue job can have a trigger")
            } else if mapping.has("schedule") {
                triggerReader.report("a job has a schedule or a trigger, never both; remove one of them")
            } else if manualOnly {
                triggerReader.report("a manual_only job has no trigger; remove one of them")
            } else if mapping.has("variants") {
                triggerReader.report("a trigger job gives coupons, not variants (A/B tests are for scheduled jobs)")
            }
        } else if let scheduleReader = mapping.value("schedule") {
            if manualOnly {
                scheduleReader.report("a manual_only job has no schedule; remove one of them")
            } else if let text = scheduleReader.string() {
                do {
                    let parsed = try CronExpression(text)
                    if parsed.canFire {
                        schedule = parsed
                    } else {
                        scheduleReader.report(Self.neverFires)
                    }
                } catch {
                    scheduleReader.report(error.message)
                }
            }
        } else if !manualOnly, manualOnlyKnown {
            mapping.reportMissing("schedule", note: " (or set manual_only: true)")
        }

        let timeZone = mapping.value("timezone")?.timeZone()
        let concurrency = mapping.value("concurrency")?
            .choice(of: ConcurrencyPolicy.allCases.map(\.rawValue), what: "concurrency")
            .flatMap(ConcurrencyPolicy.init(rawValue:))
        if kind == .remind, concurrency == .allow, let reader = mapping.value("concurrency") {
            // Two sweeps of one reminder job at once could each remind the same coupon.
            reader.report("a remind job runs one sweep at a time; remove concurrency: allow")
        }
        let catchUp = mapping.value("catch_up")?
            .choice(of: CatchUpPolicy.allCases.map(\.rawValue), what: "catch_up")
            .flatMap(CatchUpPolicy.init(rawValue:))
        let startingDeadline = mapping.value("starting_deadline")?.durationSeconds()
        let maxCatchUp = mapping.value("max_catch_up")?.int(in: 1...Int.max)
        let retry = mapping.value("retry").flatMap(readRetry)
        let timeout = mapping.value("timeout")?.durationSeconds()

        var action: JobAction?
        switch kind {
        case .issue:
            action = readIssue(mapping, jobDirectory: jobDirectory, catalog: catalog).map { .issue($0) }
        case .noop:
            action = readNoop(mapping).map { .noop($0) }
        case .remind:
            action = SweepActionParser.readRemind(mapping, jobDirectory: jobDirectory, catalog: catalog, sinks: sinks)
                .map { .remind($0) }
        case .expire:
            action = SweepActionParser.readExpire(mapping, catalog: catalog, sinks: sinks).map { .expire($0) }
        case .bundle:
            action = readBundle(mapping, plans: plans, sinks: sinks).map { .bundle($0) }
        case .prune:
            action = .prune(
                PruneAction(
                    olderThanSeconds: mapping.value("older_than")?.durationSeconds() ?? PruneAction.defaultOlderThanSeconds,
                    batchSize: mapping.value("batch_size")?.int(in: 1...100_000) ?? PruneAction.defaultBatchSize))
        default:
            action = nil
        }

        let validNameReader = name == nil ? nil : nameReader
        guard root.diagnostics.count == before, let name, let action, manualOnly || schedule != nil || trigger != nil
        else {
            return Outcome(nameReader: validNameReader, name: name, job: nil)
        }
        let job = JobDefinition(
            name: name,
            summary: summary,
            action: action,
            schedule: schedule,
            trigger: trigger,
            manualOnly: manualOnly,
            timeZone: timeZone ?? DefinitionDefaults.timeZone,
            concurrency: concurrency ?? .forbid,
            catchUp: catchUp ?? .latest,
            startingDeadlineSeconds: startingDeadline ?? DefinitionDefaults.startingDeadlineSeconds,
            maxCatchUp: maxCatchUp ?? DefinitionDefaults.maxCatchUp,
            retry: retry ?? .none,
            timeoutSeconds: timeout,
            sourceFile: root.file
        )
        return Outcome(nameReader: validNameReader, name: name, job: job)
    }

    /// The kind when it is one this version runs; kinds planned but not built are named as such.
    private static func readKind(_ mapping: DefinitionMappingReader) -> JobKind? {
        guard let reader = mapping.required("kind"), let text = reader.string() else { return nil }
        guard let kind = JobKind(rawValue: text) else {
            reader.report(
                "unknown kind \"\(text)\"" + SpellingSuggestion.hint(for: text, among: JobKind.allCases.map(\.rawValue))
            )
            return nil
        }
        guard kind.isSupported else {
            reader.report("kind \"\(text)\" is not supported yet")
            return nil
        }
        return kind
    }

    private static func readRetry(_ reader: DefinitionReader) -> JobRetry? {
        guard let mapping = reader.mapping() else { return nil }
        mapping.rejectUnknownKeys(allowed: ["attempts", "backoff"])
        let attempts = mapping.required("attempts")?.int(in: 1...100)
        let backoff = mapping.value("backoff")?.durationSeconds(allowZero: true)
        guard let attempts else { return nil }
        return JobRetry(attempts: attempts, backoffSeconds: backoff ?? DefinitionDefaults.retryBackoffSeconds)
    }

    private static func readNoop(_ mapping: DefinitionMappingReader) -> NoopAction? {
        let sleep = mapping.value("sleep_ms")?.int(in: 0...3_600_000)
        let chunks = mapping.value("chunks")?.int(in: 1...10_000)
        let fail = mapping.value("fail")?.bool()
        return NoopAction(sleepMilliseconds: sleep ?? 0, chunks: chunks ?? 1, fail: fail ?? false)
    }

    /// `plans: [KEY, …]` (default every plan), `chunk_size` (shared with issue jobs) and an optional
    /// `sink:` for the members' `bundle` notifications.
    private static func readBundle(_ mapping: DefinitionMappingReader, plans: [String: BundlePlan], sinks: SinkCatalog)
        -> BundleAction?
    {
        let chunkSize = mapping.value("chunk_size")?.int(in: 100...1_000_000)
        // An unknown sink is reported here; the job is refused with every other diagnostic.
        let sink = mapping.value("sink").flatMap(sinks.sinkName)
        var keys: [String]?
        if let reader = mapping.value("plans") {
            guard let items = reader.list() else { return nil }
            var named: [String] = []
            for item in items {
                guard let key = item.string() else { continue }
                guard plans[key] != nil else {
                    item.report(
                        "unknown plan \"\(key)\""
                            + (plans.isEmpty
                                ? " (plans.yaml defines none)"
                                : SpellingSuggestion.hint(for: key, among: plans.keys.sorted())))
                    continue
                }
                if named.contains(key) {
                    item.report("plan \"\(key)\" is listed twice")
                    continue
                }
                named.append(key)
            }
            guard named.count == items.count else { return nil }
            keys = named
        }
        return BundleAction(plans: keys, chunkSize: chunkSize ?? DefinitionDefaults.chunkSize, sink: sink)
    }

    private static func readIssue(
        _ mapping: DefinitionMappingReader, jobDirectory: String, catalog: TemplateCatalog
    ) -> IssueAction? {
        let segment = mapping.required("segment").flatMap {
            SegmentParser.readJobSegment($0, jobDirectory: jobDirectory)
        }
        let chunkSize = mapping.value("chunk_size")?.int(in: 100...1_000_000)
        var offer: IssueOffer?
        switch (mapping.value("coupons"), mapping.value("variants")) {
        case (.some, .some(let variants)):
            variants.report("give either coupons or variants, not both")
        case (.some(let coupons), .none):
            offer = CouponGrantParser.read(coupons, catalog: catalog).map { .coupons($0) }
        case (.none, .some(let variants)):
            offer = readVariants(variants, catalog: catalog).map { .variants($0) }
        case (.none, .none):
            mapping.reportMissing("coupons", note: " (give coupons or variants)")
        }
        guard let segment, let offer else { return nil }
        return IssueAction(segment: segment, offer: offer, chunkSize: chunkSize ?? DefinitionDefaults.issueChunkSize)
    }

    private static func readVariants(_ reader: DefinitionReader, catalog: TemplateCatalog) -> [IssueVariant]? {
        let before = reader.diagnostics.count
        guard let items = reader.list() else { return nil }
        var variants: [IssueVariant] = []
        var namesSeen: Set<String> = []
        var holdoutName: String?
        for item in items {
            guard let mapping = item.mapping() else { continue }
            mapping.rejectUnknownKeys(allowed: ["name", "weight", "holdout", "coupons"])
            let nameReader = mapping.required("name")
            let name = nameReader?.slug(what: "variant name")
            let weight = mapping.required("weight")?.int(in: 1...1_000_000)
            let holdoutReader = mapping.value("holdout")
            let holdout = holdoutReader?.bool() ?? false
            var coupons: [CouponGrant] = []
            if let couponsReader = mapping.value("coupons") {
                if holdout {
                    couponsReader.report("a holdout arm gets no coupons")
                } else {
                    coupons = CouponGrantParser.read(couponsReader, catalog: catalog) ?? []
                }
            } else if !holdout {
                mapping.reportMissing("coupons", note: " (or set holdout: true)")
            }
            if let name, let nameReader {
                if namesSeen.contains(name) {
                    nameReader.report("duplicate variant name \"\(name)\"")
                }
                namesSeen.insert(name)
            }
            if holdout, let holdoutReader {
                if let holdoutName {
                    holdoutReader.report("only one arm may be a holdout (\"\(holdoutName)\" already is)")
                } else {
                    holdoutName = name ?? ""
                }
            }
            if let name, let weight {
                variants.append(IssueVariant(name: name, weight: weight, holdout: holdout, coupons: coupons))
            }
        }
        if reader.diagnostics.count == before, !variants.isEmpty, variants.allSatisfy(\.holdout) {
            reader.report("needs at least one arm that is not a holdout")
        }
        return reader.diagnostics.count == before ? variants : nil
    }
}
