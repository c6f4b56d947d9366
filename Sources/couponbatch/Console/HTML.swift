import Foundation

/// Server-rendered HTML: escaping (the report's HTML uses it too) and the one layout every console
/// page shares. No external assets (scripts, fonts, styles): pages work offline and behind any proxy.
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// A query string value.
    static func query(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }

    static func page(title: String, navigation: [(path: String, title: String)], current: String, body: String) -> String {
        let links = navigation.map { item in
            "<a href=\"\(item.path)\"\(item.path == current ? " class=\"here\"" : "")>\(escape(item.title))</a>"
        }.joined(separator: "\n")
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <link rel="icon" href="data:,">
            <title>\(escape(title)) · couponbatch</title>
            <style>\(style)</style>
            </head>
            <body>
            <header><strong>couponbatch</strong><nav>\(links)</nav><span class="ro">read-only</span></header>
            <main>
            <h1>\(escape(title))</h1>
            \(body)
            </main>
            </body>
            </html>
            """
    }

    static func table(_ header: [String], _ rows: [[String]], numeric: Set<Int> = []) -> String {
        let headText = header.enumerated().map { index, title in
            numeric.contains(index) ? "<th class=\"n\">\(escape(title))</th>" : "<th>\(escape(title))</th>"
        }.joined()
        let body = rows.map { row in
            "<tr>" + row.enumerated().map { numeric.contains($0.offset) ? "<td class=\"n\">\($0.element)</td>" : "<td>\($0.element)</td>" }
                .joined() + "</tr>"
        }.joined(separator: "\n")
        return "<table><thead><tr>\(headText)</tr></thead><tbody>\n\(body)\n</tbody></table>"
    }

    /// Text that must not wrap (times, names with dashes).
    static func nowrap(_ text: String) -> String {
        "<span class=\"t\">\(escape(text))</span>"
    }

    static func badge(_ status: String) -> String {
        "<span class=\"badge \(escape(status))\">\(escape(status))</span>"
    }

    /// A bar with "done/total" beside it; unknown total (not planned yet) shows only the count.
    static func progress(done: Int, total: Int?) -> String {
        guard let total, total > 0 else { return "\(done)/-" }
        let percent = min(100, done * 100 / total)
        return "<span class=\"bar\"><span style=\"width:\(percent)%\"></span></span> \(done)/\(total)"
    }

    static let style = """
        body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2430;background:#f6f7f9}
        header{display:flex;gap:24px;align-items:center;padding:10px 24px;background:#1d2430;color:#fff}
        header nav a{color:#c9d3e3;text-decoration:none;margin-right:16px}
        header nav a.here{color:#fff;border-bottom:2px solid #5aa0ff}
        header .ro{margin-left:auto;font-size:12px;color:#9fb0c8}
        main{padding:16px 24px}
        h1{font-size:20px;margin:4px 0 14px}
        h2{font-size:16px;margin:22px 0 8px}
        table{border-collapse:collapse;background:#fff;box-shadow:0 1px 2px #0001;min-width:50%}
        th,td{padding:6px 10px;border-bottom:1px solid #e6e9ee;text-align:left;vertical-align:top}
        th{background:#eef1f5;font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
        td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
        a{color:#1b62c4}
        code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
        .badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;background:#e6e9ee}
        .badge.succeeded,.badge.active{background:#d8f3df;color:#17602c}
        .badge.failed{background:#fbdada;color:#8a1c1c}
        .badge.running{background:#dbe9ff;color:#1b4d9c}
        .badge.pending{background:#fff1c9;color:#7a5a00}
        .badge.paused,.badge.skipped,.badge.cancelled{background:#eceff3;color:#555}
        .bar{display:inline-block;width:90px;height:8px;background:#e6e9ee;border-radius:4px;vertical-align:middle;overflow:hidden}
        .bar span{display:block;height:100%;background:#3f8cff}
        .error{color:#8a1c1c;white-space:pre-wrap}
        form.filters{margin:0 0 12px;display:flex;gap:10px;align-items:center}
        .muted{color:#6b7585}
        .t{white-space:nowrap}
        """
}
