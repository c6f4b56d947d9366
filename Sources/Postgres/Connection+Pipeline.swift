import CLibPQ

/// A statement queued by `Connection.sendWithNext`, its parameters already in text form.
struct QueuedStatement {
    let sql: String
    let texts: [String?]
    var binaryResults = false
}

extension Connection {
    /// Queues a statement to be sent in the same round trip as the next one (libpq pipeline
    /// mode), instead of waiting for its reply first.
    ///
    /// Why: on a busy machine every round trip waits for the client and the server process to
    /// be scheduled again, and a short transaction's BEGIN, settings, fence and COMMIT can cost
    /// more than its work. A queued statement's error is thrown by the statement it went with;
    /// the statements after a failed one are skipped by the server, as in a script. Anything
    /// other than `query`/`execute` (a script, COPY, single-row streaming) sends the queue on its
    /// own first. Use it for statements whose result the caller does not read.
    public func sendWithNext(_ sql: String, _ parameters: [any PostgresBindable] = []) {
        queued.append(QueuedStatement(sql: sql, texts: parameters.map { $0.postgresText }))
    }

    /// Forgets queued statements that were never sent (the transaction they belonged to failed
    /// before its next statement).
    func discardQueued() {
        queued.removeAll()
    }

    /// Sends the queued statements, if any, in one round trip.
    func sendQueued() throws(PostgresError) {
        guard !queued.isEmpty else { return }
        _ = try sendQueued(with: nil)
    }

    /// Sends the queued statements and `last` in one pipeline, ended by one sync; returns the
    /// result of the last statement. The first error (by position) is thrown once every reply of
    /// the pipeline was read, so the connection is ready for the next statement.
    func sendQueued(with last: QueuedStatement?) throws(PostgresError) -> QueryResult {
        let statements = queued + (last.map { [$0] } ?? [])
        queued.removeAll()
        // Checked before anything is sent: a pipeline cut short would leave the connection unusable.
        for statement in statements {
            if let index = statement.texts.firstIndex(where: { $0?.utf8.contains(0) ?? false }) {
                throw PostgresError(
                    kind: .client,
                    message: "parameter $\(index + 1) contains a NUL byte, which PostgreSQL text cannot store")
            }
        }
        guard PQenterPipelineMode(handle) == 1 else { throw lastError() }
        defer { _ = PQexitPipelineMode(handle) }
        for statement in statements {
            let sent = try withParameterPointers(statement.texts) { pointers throws(PostgresError) in
                PQsendQueryParams(
                    handle, statement.sql, Int32(statement.texts.count), nil, pointers, nil, nil, statement.binaryResults ? 1 : 0)
            }
            guard sent == 1 else { throw lastError() }
        }
        guard PQpipelineSync(handle) == 1 else { throw lastError() }
        return try pipelineResults(count: statements.count)
    }

    /// Reads a pipeline's replies up to its sync: each statement's results end with a null.
    private func pipelineResults(count: Int) throws(PostgresError) -> QueryResult {
        var failure: PostgresError?
        var lastResult: QueryResult?
        var statement = 0
        while true {
            guard let raw = PQgetResult(handle) else {
                // A null ends one statement's results; on a broken connection nothing more comes.
                statement += 1
                if PQstatus(handle) != CONNECTION_OK || statement > count { throw failure ?? lastError() }
                continue
            }
            let result = QueryResult(raw)
            switch PQresultStatus(raw) {
            case PGRES_PIPELINE_SYNC:
                if let failure { throw failure }
                guard let lastResult else { throw lastError() }
                return lastResult
            case PGRES_PIPELINE_ABORTED:
                continue
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
                if statement == count - 1 { lastResult = result }
            default:
                failure = failure ?? error(from: raw)
                if PQstatus(handle) != CONNECTION_OK { throw failure ?? lastError() }
            }
        }
    }
}
