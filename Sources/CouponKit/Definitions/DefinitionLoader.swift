import Foundation

/// Loads and validates the definitions under `jobs/`: job files, `templates.yaml` and `plans.yaml`.
///
/// Every problem of every file is collected before anything is returned, so that bad input never
/// half-applies and a user sees all of it at once.
public enum DefinitionLoader {
    static let templatesFileNames = ["templates.yaml", "templates.yml"]
    static let plansFileNames = ["plans.yaml", "plans.yml"]
    static let sinksFileNames = ["sinks.yaml", "sinks.yml"]

    /// Loads templates.yaml, plans.yaml, sinks.yaml (all optional) and every other *.yaml / *.yml in
    /// `directory` as a job file. Throws DefinitionErrors with all errors of all files.
    public static func load(directory: String) throws(DefinitionErrors) -> Deployment {
        let diagnostics = DefinitionDiagnostics()
        let files = definitionFiles(in: directory, diagnostics: diagnostics)
        let deployment = load(
            templates: files.templates, plans: files.plans, sinks: files.sinks, jobs: files.jobs, diagnostics: diagnostics)
        guard diagnostics.isEmpty else { throw DefinitionErrors(diagnostics.errors) }
        return deployment
    }

    /// Validates the given files in the context of the directory's templates/plans (a given file
    /// may itself be templates.yaml or plans.yaml, which then replaces the directory's).
    /// Errors in the directory's templates.yaml or plans.yaml are reported too, since the given
    /// files cannot be checked against a broken context. Job names must be unique among the
    /// given files; the returned deployment holds only their jobs.
    public static func validate(files: [String], directory: String) throws(DefinitionErrors) -> Deployment {
        let diagnostics = DefinitionDiagnostics()
        var unique: [String] = []
        for file in files where !unique.contains(file) {
            unique.append(file)
        }
        let files = unique
        var templates = files.filter { templatesFileNames.contains(fileName(of: $0)) }
        var plans = files.filter { plansFileNames.contains(fileName(of: $0)) }
        var sinks = files.filter { sinksFileNames.contains(fileName(of: $0)) }
        let jobs = files.filter { !templates.contains($0) && !plans.contains($0) && !sinks.contains($0) }
        if templates.isEmpty || plans.isEmpty || sinks.isEmpty {
            let context = definitionFiles(in: directory, diagnostics: diagnostics)
            if templates.isEmpty { templates = context.templates }
            if plans.isEmpty { plans = context.plans }
            if sinks.isEmpty { sinks = context.sinks }
        }
        let deployment = load(templates: templates, plans: plans, sinks: sinks, jobs: jobs, diagnostics: diagnostics)
        guard diagnostics.isEmpty else { throw DefinitionErrors(diagnostics.errors) }
        return deployment
    }

    // MARK: - Implementation

    private static func load(
        templates templateFiles: [String], plans planFiles: [String], sinks sinkFiles: [String] = [],
        jobs jobFiles: [String],
        diagnostics: DefinitionDiagnostics
    ) -> Deployment {
        var catalog = TemplateCatalog()
        for file in ambiguousOnce(templateFiles, diagnostics: diagnostics) {
            if case .document(let root) = DefinitionDocument.read(file: file, diagnostics: diagnostics) {
                CouponTemplateParser.readFile(root, into: &catalog)
            }
        }
        var plans: [String: BundlePlan] = [:]
        for file in ambiguousOnce(planFiles, diagnostics: diagnostics) {
            if case .document(let root) = DefinitionDocument.read(file: file, diagnostics: diagnostics) {
                plans = BundlePlanParser.readFile(root, catalog: catalog)
            }
        }
        var sinks = SinkCatalog()
        for file in ambiguousOnce(sinkFiles, diagnostics: diagnostics) {
            if case .document(let root) = DefinitionDocument.read(file: file, diagnostics: diagnostics) {
                sinks = NotificationSinkParser.readFile(root)
            }
        }
        var jobs: [JobDefinition] = []
        var firstFileByName: [String: String] = [:]
        for file in jobFiles {
            switch DefinitionDocument.read(file: file, diagnostics: diagnostics) {
            case .failed:
                continue
            case .empty:
                diagnostics.report(
                    DefinitionError(file: file, line: 1, column: 1, path: "", message: "job file is empty"))
            case .document(let root):
                let outcome = JobDefinitionParser.read(
                    root, jobDirectory: directoryName(of: file), catalog: catalog, sinks: sinks, plans: plans)
                guard let name = outcome.name, let nameReader = outcome.nameReader else { continue }
                if let first = firstFileByName[name] {
                    nameReader.report("duplicate job name \"\(name)\" (already defined in \(first))")
                    continue
                }
                firstFileByName[name] = file
                if let job = outcome.job {
                    jobs.append(job)
                }
            }
        }
        return Deployment(jobs: jobs, templates: catalog.templates, plans: plans, sinks: sinks.sinks)
    }

    /// `templates.yaml` and `templates.yml` side by side would be read in an unclear order.
    private static func ambiguousOnce(_ files: [String], diagnostics: DefinitionDiagnostics) -> [String] {
        guard files.count > 1 else { return files }
        for file in files.dropFirst() {
            diagnostics.report(
                file: file, message: "\(fileName(of: file)) conflicts with \(files[0]); keep only one of them")
        }
        return [files[0]]
    }

    private struct DirectoryFiles {
        var templates: [String] = []
        var plans: [String] = []
        var sinks: [String] = []
        var jobs: [String] = []
    }

    /// The YAML files directly in `directory` (not in subdirectories), sorted by name; hidden
    /// files are left out.
    private static func definitionFiles(in directory: String, diagnostics: DefinitionDiagnostics) -> DirectoryFiles {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            diagnostics.report(file: directory, message: "cannot read the jobs directory")
            return DirectoryFiles()
        }
        var files = DirectoryFiles()
        for name in names.sorted() where !name.hasPrefix(".") && (name.hasSuffix(".yaml") || name.hasSuffix(".yml")) {
            let path = join(directory, name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue
            else { continue }
            if templatesFileNames.contains(name) {
                files.templates.append(path)
            } else if plansFileNames.contains(name) {
                files.plans.append(path)
            } else if sinksFileNames.contains(name) {
                files.sinks.append(path)
            } else {
                files.jobs.append(path)
            }
        }
        return files
    }

    static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    static func fileName(of path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
    }

    static func directoryName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }
}
