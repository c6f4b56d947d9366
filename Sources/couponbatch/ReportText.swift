import CouponKit
import Foundation

/// `report --format table|csv|json`: aligned text for people, one CSV table of the `--by`
/// grouping for spreadsheets, the whole report as JSON for scripts.
enum ReportText {
    static func table(_ r: CouponReport) -> String {
        var out = "coupon report \(r.from) to \(r.to) (\(r.timezone)), by \(r.by.rawValue)\n\n"
        let s = r.summary
        out += "issued \(s.issued ?? 0)  redeemed \(s.redeemed ?? 0) (\(Format.percent(s.redemptionRate)))  "
        out += "expired \(s.expired ?? 0) (\(Format.percent(s.expiryRate)))\n"
        out += "time to redemption: median \(Format.hours(s.medianHoursToRedeem)), p90 \(Format.hours(s.p90HoursToRedeem))\n"
        out += "uses \(s.redemptions), \(s.crossStore) outside the member's home store; discount \(Money.yuan(s.discountFen)) "
        out += "on orders of \(Money.yuan(s.orderValueFen))\n"
        let l = r.liability
        out += "liability as of \(LocalTimeFormat.format(l.asOf, in: TimeZone(identifier: r.timezone) ?? .gmt)): "
        out += "\(l.activeCoupons) active coupons, outstanding face value \(Money.yuan(l.outstandingFaceValueFen)), "
        out += "reserve \(Format.number(l.reservePercent))% = \(Money.yuan(l.reserveFen))\n\n"
        out += grid(r).render() + "\n"
        if !r.alerts.isEmpty {
            out += "\nalerts (moves over \(Format.number(r.alertThreshold * 100))%):\n"
            for alert in r.alerts { out += "  ! \(alert.message)\n" }
        }
        return out
    }

    static func csv(_ r: CouponReport) -> String {
        let g = grid(r, forCSV: true)
        return ([g.header] + g.rows).map(CSVText.line).joined()
    }

    static func json(_ r: CouponReport) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        encoder.dateEncodingStrategy = .iso8601
        let data = (try? encoder.encode(r)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The main table of the `--by` grouping. CSV gets raw numbers (fen, fractions); people get
    /// yuan and percentages.
    static func grid(_ r: CouponReport, forCSV: Bool = false) -> TextTable {
        func pct(_ value: Double?) -> String { forCSV ? Format.fraction(value) : Format.percent(value) }
        func money(_ fen: Int64) -> String { forCSV ? "\(fen)" : Money.yuan(fen) }
        func hours(_ value: Double?) -> String { forCSV ? Format.fraction(value) : Format.hours(value) }
        switch r.by {
        case .day:
            var t = TextTable(header: [
                "day", "issued", "redeemed", "expired", forCSV ? "discount_fen" : "discount",
                forCSV ? "order_value_fen" : "order value", "redeemed_dod", "redeemed_wow", "flags",
            ])
            for d in r.daily {
                let change = d.changes["redeemed"]
                let flags = DailyRow.metrics.filter { d.changes[$0]?.flagged == true }.joined(separator: "|")
                t.add([
                    d.day, "\(d.issued)", "\(d.redeemed)", "\(d.expired)", money(d.discountFen), money(d.orderValueFen),
                    forCSV ? Format.fraction(change?.dayOverDay) : Format.change(change?.dayOverDay),
                    forCSV ? Format.fraction(change?.weekOverWeek) : Format.change(change?.weekOverWeek),
                    forCSV ? flags : (flags.isEmpty ? "" : "! " + flags),
                ])
            }
            return t
        case .arm:
            var t = TextTable(header: [
                "job", "arm", "members", "redeemed", "redemption_rate", "response_rate", "response_95ci", "lift_vs_holdout",
                "lift_95ci",
            ])
            for a in r.arms {
                t.add([
                    a.job, a.arm + (a.holdout ? " (holdout)" : ""), "\(a.members)", "\(a.redeemedMembers)", pct(a.redemptionRate),
                    pct(a.responseRate), Format.interval(a.responseLow, a.responseHigh, forCSV: forCSV),
                    forCSV ? Format.fraction(a.liftVsHoldout) : Format.points(a.liftVsHoldout),
                    Format.interval(a.liftLow, a.liftHigh, forCSV: forCSV, points: true),
                ])
            }
            return t
        case .store:
            var t = TextTable(header: [
                "store", "redemptions", "cross_store", forCSV ? "discount_fen" : "discount", forCSV ? "order_value_fen" : "order value",
            ])
            for k in r.rows {
                t.add([k.key, "\(k.redemptions)", "\(k.crossStore)", money(k.discountFen), money(k.orderValueFen)])
            }
            return t
        case .template, .job, .segment:
            var header = [
                r.by.rawValue, "issued", "redeemed", "redemption_rate", "expired", "expiry_rate", "median_hours", "p90_hours",
                "uses", "cross_store", forCSV ? "discount_fen" : "discount", forCSV ? "order_value_fen" : "order value",
            ]
            if r.by == .template { header.append(forCSV ? "healthy" : "healthy ≥ \(Format.percent(r.healthyRedemptionRate))") }
            var t = TextTable(header: header)
            for k in r.rows {
                var cells = [
                    k.key, "\(k.issued ?? 0)", "\(k.redeemed ?? 0)", pct(k.redemptionRate), "\(k.expired ?? 0)", pct(k.expiryRate),
                    hours(k.medianHoursToRedeem), hours(k.p90HoursToRedeem), "\(k.redemptions)", "\(k.crossStore)",
                    money(k.discountFen), money(k.orderValueFen),
                ]
                if r.by == .template { cells.append(k.healthy.map { $0 ? "yes" : "no" } ?? "") }
                t.add(cells)
            }
            return t
        }
    }
}

/// Numbers for people and for CSV.
enum Format {
    static func percent(_ value: Double?) -> String {
        value.map { String(format: "%.1f%%", $0 * 100) } ?? "-"
    }

    /// Percentage points, signed: a difference of two rates.
    static func points(_ value: Double?) -> String {
        value.map { String(format: "%+.1f pp", $0 * 100) } ?? "-"
    }

    static func change(_ value: Double?) -> String {
        value.map { String(format: "%+.0f%%", $0 * 100) } ?? "-"
    }

    static func hours(_ value: Double?) -> String {
        guard let value else { return "-" }
        return value >= 48 ? String(format: "%.1f d", value / 24) : String(format: "%.1f h", value)
    }

    static func fraction(_ value: Double?) -> String {
        value.map { String(format: "%.4f", $0) } ?? ""
    }

    static func interval(_ low: Double?, _ high: Double?, forCSV: Bool, points: Bool = false) -> String {
        guard let low, let high else { return forCSV ? "" : "-" }
        if forCSV { return String(format: "%.4f..%.4f", low, high) }
        return points
            ? String(format: "%+.1f to %+.1f pp", low * 100, high * 100) : String(format: "%.1f–%.1f%%", low * 100, high * 100)
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}
