import Postgres

/// `$n` placeholders numbered in the order values are added, for statements assembled from parts.
final class SQLParameterList {
    private(set) var values: [any PostgresBindable] = []

    init(_ values: [any PostgresBindable] = []) { self.values = values }

    /// Appends `value` and returns its placeholder.
    func add(_ value: any PostgresBindable) -> String {
        values.append(value)
        return "$\(values.count)"
    }

    func append(contentsOf more: [any PostgresBindable]) { values.append(contentsOf: more) }

    var nextNumber: Int { values.count + 1 }
}
