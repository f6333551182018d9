import D2L
import Foundation

/// report.html: one page per run that reads top to bottom like the book's notebook. The
/// narration's headings and paragraphs, the printouts and result lines as monospace blocks,
/// each picture where the run drew it (a picture drawn twice, like the training curves of a
/// chapter that trains two networks, where it was drawn last), and the settings. One file with
/// relative links to the pictures next to it; no scripts.
public enum Report {
    /// The page for `events` of chapter `name`.
    public static func html(name: String, events: [Transcript.Event], settings: RunSettings, status: String) -> String {
        var lastMention: [String: Int] = [:]
        for (i, e) in events.enumerated() { if case .picture(let file) = e { lastMention[file] = i } }
        var body = ""
        for (i, event) in events.enumerated() {
            switch event {
            case .heading(let title):
                body += "<h2>\(escape(title))</h2>\n"
            case .paragraph(let text):
                body += paragraph(text)
            case .output(let text):
                let shown = terminalText(text).trimmingCharacters(in: .newlines)
                if !shown.trimmingCharacters(in: .whitespaces).isEmpty { body += "<pre>\(escape(shown))</pre>\n" }
            case .picture(let file) where lastMention[file] == i:
                body += "<figure><img src=\"\(escape(file))\" alt=\"\(escape(file))\"><figcaption>\(escape(file))</figcaption></figure>\n"
            case .picture:
                break
            }
        }
        let rows = ((try? JSONValue(encoding: settings))?.objectValue ?? [:]).sorted { $0.key < $1.key }.map { key, value in
            "<tr><td>\(escape(key))</td><td>\(escape(describe(value)))</td></tr>"
        }.joined(separator: "\n")
        return """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>\(escape(name))</title>
        <style>
        body { font-family: "DejaVu Sans", system-ui, sans-serif; max-width: 64rem; margin: 2rem auto; padding: 0 1rem;
               line-height: 1.5; color: #222; }
        h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
        h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
        pre { background: #f6f8fa; padding: 0.7rem; overflow-x: auto; font-size: 0.8rem; line-height: 1.35; }
        pre.formula { background: none; padding: 0 1rem; font-size: 0.9rem; }
        figure { margin: 1rem 0; }
        img { max-width: 100%; border: 1px solid #ddd; }
        figcaption, .meta { color: #666; font-size: 0.85rem; }
        td { padding: 0.1rem 1.5rem 0.1rem 0; font-family: "DejaVu Sans Mono", monospace; font-size: 0.85rem; }
        </style>
        </head>
        <body>
        <h1>\(escape(name))</h1>
        <p class="meta">status: \(escape(status)) · \(escape(settings.profile)) profile · mode \(escape(settings.mode.rawValue))</p>
        \(body)<h2>Settings</h2>
        <table>
        \(rows)
        </table>
        </body>
        </html>

        """
    }

    /// A narration paragraph: prose lines joined, indented lines (formulas) kept as they are.
    static func paragraph(_ text: String) -> String {
        var out = "", prose: [String] = [], formula: [String] = []
        func flush() {
            if !prose.isEmpty { out += "<p>\(inline(escape(prose.joined(separator: " "))))</p>\n"; prose = [] }
            if !formula.isEmpty { out += "<pre class=\"formula\">\(escape(formula.joined(separator: "\n")))</pre>\n"; formula = [] }
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix(" ") {
                if !prose.isEmpty { flush() }
                formula.append(line)
            } else {
                if !formula.isEmpty { flush() }
                if !line.isEmpty { prose.append(line) }
            }
        }
        flush()
        return out
    }

    /// The narration's inline marks as HTML: `code` and *emphasis*.
    static func inline(_ html: String) -> String {
        html.replacingOccurrences(of: #"`([^`]+)`"#, with: "<code>$1</code>", options: .regularExpression)
            .replacingOccurrences(of: #"(^|[\s(])\*([^*\s][^*]*[^*\s]|[^*\s])\*(?=[\s.,;:)]|$)"#, with: "$1<em>$2</em>", options: .regularExpression)
    }

    /// What a terminal would show of `text`: on each line only what follows its last carriage
    /// return (a progress bar redraws itself that way), without escape sequences.
    static func terminalText(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let last = line.split(separator: "\r", omittingEmptySubsequences: false).last.map(String.init) ?? ""
            return last.replacingOccurrences(of: #"\x{1B}\[[0-9;]*[A-Za-z]"#, with: "", options: .regularExpression)
        }.joined(separator: "\n")
    }

    /// A settings value as a person writes it: 0.1 rather than 0.10000000149011612.
    static func describe(_ v: JSONValue) -> String {
        switch v {
        case .number(let x): x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(format: "%g", x)
        case .string(let s): s
        case .bool(let b): b ? "true" : "false"
        case .null: "—"
        default: "\(v)"
        }
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

extension ChapterRun {
    /// Marks in the transcript that `file` (a picture in the output folder) was drawn here.
    public func show(_ file: String) {
        transcript?.mark(.picture(file))
    }

    /// Stops the transcript and writes report.html (atomically).
    func writeReport(status: String, closing: String? = nil) throws {
        guard let transcript else { return }
        self.transcript = nil
        var events = transcript.stop()
        if let closing { events.append(.paragraph(closing)) }
        let html = Report.html(name: name, events: events, settings: settings, status: status)
        try writeAtomically(Data(html.utf8), to: path("report.html"))
    }

    /// After a run stopped on an error: the report of what it did, if it wrote anything at all.
    func reportFailure(_ error: Error) {
        guard transcript != nil else { return }
        let written = (try? FileManager.default.contentsOfDirectory(atPath: outDir))?.filter { !$0.hasPrefix(".") } ?? []
        let status = metrics.status == "running" ? "failed" : metrics.status
        if written.isEmpty {
            _ = transcript?.stop()
            transcript = nil
        } else {
            try? writeReport(status: status, closing: "The run stopped: \(error)")
        }
    }
}
