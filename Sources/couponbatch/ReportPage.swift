import CouponKit
import Foundation

/// `report --format html`: one self-contained page (inline CSS and SVG, no script, nothing
/// fetched), made to be looked at: headline figures, then charts, then the tables behind them.
enum ReportPage {
    static let issuedColor = "#94a3b8"
    static let redeemedColor = "#16a34a"
    static let expiredColor = "#dc2626"
    static let healthyColor = "#16a34a"
    static let weakColor = "#f59e0b"
    static let holdoutColor = "#94a3b8"
    static let armColor = "#2563eb"

    static func html(_ r: CouponReport) -> String {
        let zone = TimeZone(identifier: r.timezone) ?? .gmt
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Coupon report \(r.from) to \(r.to)</title>
            <style>\(css)</style></head><body>
            <header><h1>Coupon report</h1>
            <p class="sub">\(r.from) to \(r.to) · days in \(HTML.escape(r.timezone)) · generated \(LocalTimeFormat.format(r.generatedAt, in: zone))</p></header>
            """
        page += tiles(r)
        page += alerts(r)
        let days = r.daily
        page += section(
            "Issued, redeemed and expired per day",
            "Coupons issued that day, uses redeemed that day, and coupons whose window ended that day unused.",
            SVGCharts.groupedBars(
                labels: days.map(\.day),
                series: [
                    .init(name: "issued", color: issuedColor, values: days.map(\.issued)),
                    .init(name: "redeemed", color: redeemedColor, values: days.map(\.redeemed)),
                    .init(name: "expired", color: expiredColor, values: days.map(\.expired)),
                ], title: "Issued, redeemed and expired per day"))
        let bar = r.healthyRedemptionRate
        page += section(
            "Redemption rate per template",
            "Coupons issued in the period that were redeemed. Green reaches the healthy-coupon bar of \(Format.percent(bar)); "
                + "amber is below it (a template whose coupons are still fresh may yet get there).",
            SVGCharts.rateBars(
                r.templates.map { t in
                    .init(
                        label: t.key, value: t.redemptionRate, low: nil, high: nil,
                        color: (t.redemptionRate ?? 0) >= bar ? healthyColor : weakColor,
                        note: "\(Format.percent(t.redemptionRate)) of \(t.issued ?? 0)")
                }, reference: (bar, "healthy bar \(Format.percent(bar))"), title: "Redemption rate per template"))
        page += section(
            "A/B arms against the holdout",
            "Share of each arm's members who responded (redeemed a coupon of the run, or ordered after it), with its 95% "
                + "interval. The grey holdout got no coupon: the gap to it is what the coupons added.",
            SVGCharts.rateBars(
                r.arms.map { a in
                    .init(
                        label: "\(a.job) · \(a.arm)", value: a.responseRate, low: a.responseLow, high: a.responseHigh,
                        color: a.holdout ? holdoutColor : armColor,
                        note: a.holdout
                            ? "holdout \(Format.percent(a.responseRate))"
                            : "\(Format.percent(a.responseRate)) (\(Format.points(a.liftVsHoldout)))")
                }, reference: nil, title: "Response per A/B arm"))
        page += tableSection("By template", ReportText.grid(withBy(r, .template)))
        page += tableSection("By day", ReportText.grid(withBy(r, .day)))
        if !r.arms.isEmpty { page += tableSection("A/B arms", ReportText.grid(withBy(r, .arm))) }
        if ![.day, .template, .arm].contains(r.by) {
            page += tableSection("By \(r.by.rawValue)", ReportText.grid(r))
        }
        page += "<footer>couponbatch report · coupon figures count coupons issued in the period; liability as of "
            + "\(LocalTimeFormat.format(r.liability.asOf, in: zone))</footer></body></html>\n"
        return page
    }

    private static func withBy(_ r: CouponReport, _ by: ReportDimension) -> CouponReport {
        var copy = r
        copy.by = by
        if by == .template { copy.rows = r.templates }
        return copy
    }

    private static func tiles(_ r: CouponReport) -> String {
        let s = r.summary
        let l = r.liability
        let items: [(String, String, String)] = [
            ("Issued", "\(s.issued ?? 0)", "coupons in the period"),
            ("Redeemed", Format.percent(s.redemptionRate), "\(s.redeemed ?? 0) coupons"),
            ("Expired unused", Format.percent(s.expiryRate), "\(s.expired ?? 0) coupons"),
            ("Time to redeem", Format.hours(s.medianHoursToRedeem), "median · p90 \(Format.hours(s.p90HoursToRedeem))"),
            ("Discount given", Money.yuan(s.discountFen), "on orders of \(Money.yuan(s.orderValueFen))"),
            ("Cross-store uses", "\(s.crossStore)", "of \(s.redemptions) uses"),
            ("Liability reserve", Money.yuan(l.reserveFen),
             "\(Format.number(l.reservePercent))% of \(Money.yuan(l.outstandingFaceValueFen)) outstanding"),
        ]
        return "<section class=\"tiles\">"
            + items.map { "<div class=\"tile\"><div class=\"label\">\($0.0)</div><div class=\"value\">\(HTML.escape($0.1))</div><div class=\"note\">\(HTML.escape($0.2))</div></div>" }.joined()
            + "</section>"
    }

    private static func alerts(_ r: CouponReport) -> String {
        guard !r.alerts.isEmpty else {
            return "<p class=\"ok\">No daily figure moved more than \(Format.number(r.alertThreshold * 100))% on \(r.to).</p>"
        }
        return "<section class=\"alerts\"><strong>Moves over \(Format.number(r.alertThreshold * 100))%</strong><ul>"
            + r.alerts.map { "<li>\(HTML.escape($0.message))</li>" }.joined() + "</ul></section>"
    }

    private static func section(_ title: String, _ note: String, _ svg: String) -> String {
        "<section class=\"card\"><h2>\(HTML.escape(title))</h2><p class=\"note\">\(HTML.escape(note))</p>\(svg)</section>"
    }

    private static func tableSection(_ title: String, _ table: TextTable) -> String {
        var html = "<section class=\"card\"><h2>\(HTML.escape(title))</h2><div class=\"scroll\"><table><thead><tr>"
        html += table.header.map { "<th>\(HTML.escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for row in table.rows {
            html += "<tr>" + row.map { "<td>\(HTML.escape($0))</td>" }.joined() + "</tr>"
        }
        return html + "</tbody></table></div></section>"
    }

    static let css = """
        body{margin:0;padding:24px 32px;background:#f5f6f8;color:#1f2933;font:14px/1.45 system-ui,-apple-system,"Segoe UI",\
        "PingFang SC","Noto Sans CJK SC",sans-serif}
        h1{margin:0;font-size:26px}h2{margin:0 0 4px;font-size:17px}.sub{margin:4px 0 18px;color:#52606d}
        .tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin-bottom:16px}
        .tile{background:#fff;border-radius:10px;padding:12px 14px;box-shadow:0 1px 2px #0001}
        .tile .label{color:#52606d;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
        .tile .value{font-size:21px;font-weight:650;margin:2px 0}.tile .note{color:#7b8794;font-size:12px}
        .card{background:#fff;border-radius:10px;padding:16px 18px;margin:0 0 16px;box-shadow:0 1px 2px #0001}
        .card .note{color:#52606d;margin:0 0 8px}
        .alerts{background:#fff7ed;border:1px solid #fdba74;border-radius:10px;padding:10px 16px;margin-bottom:16px}
        .alerts ul{margin:6px 0 0;padding-left:20px}.ok{color:#15803d;margin:0 0 16px}
        .scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:5px 8px;border-bottom:1px solid #e4e7eb;\
        text-align:right;white-space:nowrap}th:first-child,td:first-child{text-align:left}th{color:#52606d;font-weight:600}
        footer{color:#7b8794;font-size:12px;margin-top:8px}
        """
}
