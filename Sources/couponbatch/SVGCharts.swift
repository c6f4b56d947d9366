import Foundation

/// Inline SVG charts for the HTML report: plain shapes and text, no script, no external font or
/// stylesheet, so the page renders the same offline and in any browser.
enum SVGCharts {
    struct Series {
        let name: String
        let color: String
        let values: [Int64]
    }

    /// Grouped vertical bars: one group per label (a day), one bar per series.
    static func groupedBars(labels: [String], series: [Series], width: Int = 960, height: Int = 300, title: String) -> String {
        let left = 56.0, right = 16.0, top = 36.0, bottom = 48.0
        let plotWidth = Double(width) - left - right
        let plotHeight = Double(height) - top - bottom
        let maxValue = max(1, series.flatMap(\.values).max() ?? 1)
        let scaleTop = niceCeiling(Double(maxValue))
        let groupWidth = plotWidth / Double(max(labels.count, 1))
        let barWidth = max(1, (groupWidth * 0.8) / Double(max(series.count, 1)))
        var svg = open(width, height, title)
        svg += axisY(scaleTop: scaleTop, left: left, top: top, plotWidth: plotWidth, plotHeight: plotHeight, format: grouped)
        for (g, label) in labels.enumerated() {
            let x0 = left + Double(g) * groupWidth + groupWidth * 0.1
            for (s, serie) in series.enumerated() where g < serie.values.count {
                let value = Double(serie.values[g])
                let h = plotHeight * value / scaleTop
                let x = x0 + Double(s) * barWidth
                svg += rect(x, top + plotHeight - h, barWidth - 0.5, h, serie.color, tooltip: "\(label) \(serie.name): \(serie.values[g])")
            }
            // Every label when they fit, else every 7th (weeks) and the last.
            if labels.count <= 16 || g % 7 == (labels.count - 1) % 7 {
                svg += text(left + (Double(g) + 0.5) * groupWidth, top + plotHeight + 16, String(label.suffix(5)), anchor: "middle", size: 11)
            }
        }
        svg += legend(series.map { ($0.name, $0.color) }, x: left, y: 18)
        return svg + "</svg>"
    }

    struct Bar {
        let label: String
        let value: Double?
        let low: Double?
        let high: Double?
        let color: String
        let note: String
    }

    /// Horizontal bars of rates (0…1), optional 95% whiskers, and an optional reference line.
    static func rateBars(_ bars: [Bar], reference: (value: Double, label: String)?, width: Int = 960, title: String) -> String {
        let rowHeight = 30.0, left = 220.0, right = 150.0, top = 40.0
        let height = Int(top + rowHeight * Double(max(bars.count, 1)) + 28)
        let plotWidth = Double(width) - left - right
        let maxRate = max(0.05, bars.compactMap { $0.high ?? $0.value }.max() ?? 0, (reference?.value ?? 0) * 1.2)
        // Scales whose quarter ticks are round percentages.
        let scale = [0.04, 0.08, 0.2, 0.4, 0.6, 0.8, 1.0].first { $0 >= maxRate } ?? 1
        func x(_ rate: Double) -> Double { left + plotWidth * min(rate, scale) / scale }
        var svg = open(width, height, title)
        if bars.isEmpty {
            svg += text(left, top + 18, "nothing in this period", anchor: "start", size: 13, color: "#667")
        }
        for step in 0...4 {
            let rate = scale * Double(step) / 4
            svg += "<line x1=\"\(f(x(rate)))\" y1=\"\(f(top - 6))\" x2=\"\(f(x(rate)))\" y2=\"\(f(top + rowHeight * Double(bars.count)))\" stroke=\"#e3e6ea\"/>"
            svg += text(x(rate), top - 10, String(format: "%.0f%%", rate * 100), anchor: "middle", size: 11, color: "#667")
        }
        for (i, bar) in bars.enumerated() {
            let y = top + Double(i) * rowHeight
            svg += text(left - 8, y + rowHeight / 2 + 4, bar.label, anchor: "end", size: 12)
            if let value = bar.value {
                svg += rect(left, y + 6, max(1, x(value) - left), rowHeight - 12, bar.color, tooltip: "\(bar.label): \(bar.note)")
            }
            if let low = bar.low, let high = bar.high {
                let mid = y + rowHeight / 2
                svg += "<path d=\"M\(f(x(low))) \(f(mid))H\(f(x(high)))M\(f(x(low))) \(f(mid - 5))V\(f(mid + 5))M\(f(x(high))) \(f(mid - 5))V\(f(mid + 5))\" stroke=\"#1f2933\" stroke-width=\"1.5\" fill=\"none\"/>"
            }
            svg += text(Double(width) - right + 8, y + rowHeight / 2 + 4, bar.note, anchor: "start", size: 12)
        }
        if let reference {
            let rx = x(reference.value)
            svg += "<line x1=\"\(f(rx))\" y1=\"\(f(top - 4))\" x2=\"\(f(rx))\" y2=\"\(f(top + rowHeight * Double(bars.count) + 4))\" stroke=\"#c2410c\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>"
            svg += text(rx + 4, top + rowHeight * Double(bars.count) + 18, reference.label, anchor: "start", size: 11, color: "#c2410c")
        }
        return svg + "</svg>"
    }

    // MARK: - Pieces

    private static func open(_ width: Int, _ height: Int, _ title: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(width) \(height)\" width=\"100%\" role=\"img\" aria-label=\"\(HTML.escape(title))\" font-family=\"system-ui, sans-serif\">"
            + "<title>\(HTML.escape(title))</title>"
    }

    private static func axisY(
        scaleTop: Double, left: Double, top: Double, plotWidth: Double, plotHeight: Double, format: (Double) -> String
    ) -> String {
        var svg = ""
        for step in 0...4 {
            let value = scaleTop * Double(step) / 4
            let y = top + plotHeight - plotHeight * Double(step) / 4
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y))\" stroke=\"#e3e6ea\"/>"
            svg += text(left - 6, y + 4, format(value), anchor: "end", size: 11, color: "#667")
        }
        return svg
    }

    private static func legend(_ items: [(String, String)], x: Double, y: Double) -> String {
        var svg = ""
        var cursor = x
        for (name, color) in items {
            svg += "<rect x=\"\(f(cursor))\" y=\"\(f(y - 9))\" width=\"12\" height=\"12\" rx=\"2\" fill=\"\(color)\"/>"
            svg += text(cursor + 16, y + 1, name, anchor: "start", size: 12)
            cursor += 24 + Double(name.count) * 7.5
        }
        return svg
    }

    private static func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, _ color: String, tooltip: String) -> String {
        "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(w))\" height=\"\(f(h))\" rx=\"1.5\" fill=\"\(color)\"><title>\(HTML.escape(tooltip))</title></rect>"
    }

    private static func text(
        _ x: Double, _ y: Double, _ content: String, anchor: String, size: Int, color: String = "#1f2933"
    ) -> String {
        "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"\(anchor)\" font-size=\"\(size)\" fill=\"\(color)\">\(HTML.escape(content))</text>"
    }

    private static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    /// 1, 2, 2.5, 5 × 10^n at or above `value`: axis ticks people can read.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let magnitude = pow(10, (log10(value)).rounded(.down))
        for step in [1.0, 2, 2.5, 5, 10] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

    private static func grouped(_ value: Double) -> String {
        value >= 10_000 ? String(format: "%.0fk", value / 1000) : String(format: "%.0f", value)
    }
}
