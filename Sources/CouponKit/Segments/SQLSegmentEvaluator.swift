import Foundation
import Postgres

/// Runs a `sql: "…"` segment once, read-only and under a time limit, and returns its member ids.
///
/// The guards, in order:
/// 1. The text must start with a query keyword (SELECT, WITH, VALUES, TABLE or a parenthesis),
///    so `DELETE …`, `UPDATE …` or `INSERT …` are refused by name before reaching the server.
/// 2. It runs as a subquery, `SELECT DISTINCT … FROM (<sql>) AS segment_source (id)`: a single
///    statement only (a `;` inside is a syntax error), and PostgreSQL refuses data-modifying
///    `WITH` inside it.
/// 3. All of it runs in a `READ ONLY` transaction: anything else that writes (`SELECT … FOR
///    UPDATE`, `nextval`, a function that writes) fails with SQLSTATE 25006 and nothing changes.
/// 4. `SET LOCAL statement_timeout` bounds it; the session's own timeout is untouched.
/// 5. The first column goes through `segment_member_id(bigint)` (migration 0003), which
///    PostgreSQL only accepts for smallint, integer and bigint: a text or numeric column is
///    refused while planning, even when the query would return no rows.
///
/// These guard against mistakes. Against a hostile author the boundary is the database role:
/// runners evaluate the SQL on a `SegmentSandbox` connection, logged in as a read-only role
/// with pinned settings, that nothing else uses.
enum SQLSegmentEvaluator {
    /// Returns the distinct ids (NULLs dropped), ascending.
    static func memberIDs(sql: String, field: String, timeout: Duration, connection: Connection) throws -> [Int64] {
        let query = trimmed(sql)
        guard !query.isEmpty else {
            throw SegmentError(field: field, reason: .sqlRejected, message: "the segment SQL is empty")
        }
        if let keyword = leadingKeyword(query), !queryKeywords.contains(keyword) {
            let reason: SegmentError.Reason = writingKeywords.contains(keyword) ? .sqlWriteRefused : .sqlRejected
            throw SegmentError(
                field: field, reason: reason,
                message: "segment SQL must be one query that returns member ids (SELECT, WITH … SELECT, VALUES "
                    + "or TABLE) and must only read; this one starts with \(keyword.uppercased())")
        }
        // Newlines around the user's text, so a trailing `-- comment` cannot swallow the parenthesis.
        let statement = """
            SELECT DISTINCT segment_member_id(segment_source.id) AS member_id
            FROM (
            \(query)
            ) AS segment_source (id)
            WHERE segment_source.id IS NOT NULL
            """
        var ids: [Int64] = []
        do {
            try connection.transaction(readOnly: true) { c in
                try c.execute("SELECT set_config('statement_timeout', $1, true)", [String(milliseconds(timeout))])
                try c.forEachRow(statement) { row in
                    ids.append(try row.decode(0, as: Int64.self))
                }
            }
        } catch let error as PostgresError {
            throw classify(error, field: field, timeout: timeout)
        }
        ids.sort()
        return ids
    }

    /// Turns the server's refusals into errors that name the job field and say what to change.
    static func classify(_ error: PostgresError, field: String, timeout: Duration) -> any Error {
        guard error.kind == .server, let code = error.code else { return error }
        switch code.sqlstate {
        case PostgresError.Code.readOnlySQLTransaction.sqlstate:
            return SegmentError(
                field: field, reason: .sqlWriteRefused,
                message: "segment SQL must only read, and nothing was changed: \(error.message)")
        case "0A000" where error.message.contains("data-modifying"):
            return SegmentError(
                field: field, reason: .sqlWriteRefused,
                message: "segment SQL must only read, and nothing was changed: \(error.message)")
        case "42883" where error.message.contains("segment_member_id("):
            let type =
                error.message.split(separator: "(").dropFirst().first?.split(separator: ")").first
                .map(String.init) ?? "another type"
            if ["smallint", "integer", "bigint"].contains(type) {
                return SegmentError(
                    field: field, reason: .sqlRejected,
                    message: "the database lacks segment_member_id(bigint): apply the segments migration (0003)")
            }
            return SegmentError(
                field: field, reason: .sqlNotMemberIDs,
                message: "the query's first column must be an integer member id (smallint, integer or bigint), "
                    + "not \(type); cast it if the values are ids")
        case PostgresError.Code.insufficientPrivilege.sqlstate:
            return SegmentError(
                field: field, reason: .sqlRejected,
                message: "segment SQL may only read the member and coupon tables, and nothing was changed: \(error.message)")
        case PostgresError.Code.queryCanceled.sqlstate:
            return SegmentError(
                field: field, reason: .sqlTimedOut,
                message: "the query did not finish within its \(describe(timeout)) statement timeout; make it cheaper "
                    + "or allow it more time")
        default:
            if error.isTransient { return error }
            return SegmentError(
                field: field, reason: .sqlRejected, message: "PostgreSQL refused the segment SQL: \(error.description)")
        }
    }

    static let queryKeywords: Set<String> = ["select", "with", "values", "table"]
    static let writingKeywords: Set<String> = [
        "insert", "update", "delete", "merge", "truncate", "drop", "alter", "create", "copy", "grant", "revoke",
        "call", "do", "lock", "vacuum", "analyze", "cluster", "reindex", "refresh", "comment", "security", "import",
    ]

    /// The text without surrounding whitespace and trailing semicolons.
    static func trimmed(_ sql: String) -> String {
        var text = Substring(sql)
        while true {
            let before = text.count
            text = text.drop(while: \.isWhitespace)
            while let last = text.last, last.isWhitespace || last == ";" { text = text.dropLast() }
            if text.count == before { break }
        }
        return String(text)
    }

    /// The first word, lowercased, after whitespace, comments (`--`, nested `/* */`) and opening
    /// parentheses; nil when the text does not start with a word (the server then decides).
    static func leadingKeyword(_ sql: String) -> String? {
        let scalars = Array(sql.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            if CharacterSet.whitespacesAndNewlines.contains(c) || c == "(" {
                i += 1
            } else if c == "-", i + 1 < scalars.count, scalars[i + 1] == "-" {
                while i < scalars.count, scalars[i] != "\n" { i += 1 }
            } else if c == "/", i + 1 < scalars.count, scalars[i + 1] == "*" {
                var depth = 0
                while i < scalars.count {
                    if scalars[i] == "/", i + 1 < scalars.count, scalars[i + 1] == "*" {
                        depth += 1
                        i += 2
                    } else if scalars[i] == "*", i + 1 < scalars.count, scalars[i + 1] == "/" {
                        depth -= 1
                        i += 2
                        if depth == 0 { break }
                    } else {
                        i += 1
                    }
                }
            } else {
                break
            }
        }
        var word = String.UnicodeScalarView()
        while i < scalars.count, CharacterSet.letters.contains(scalars[i]) {
            word.append(scalars[i])
            i += 1
        }
        return word.isEmpty ? nil : String(word).lowercased()
    }

    /// At least 1 ms: a statement_timeout of 0 would mean no limit at all.
    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return max(1, millis)
    }

    static func describe(_ duration: Duration) -> String {
        let millis = milliseconds(duration)
        return millis % 1000 == 0 ? "\(millis / 1000) s" : "\(millis) ms"
    }
}
