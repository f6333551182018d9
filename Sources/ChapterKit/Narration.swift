/// Printing helpers that make a chapter read like the book: section headings and short
/// paragraphs wrapped to the terminal. While a run keeps a transcript (`Transcript`), they
/// also mark the heading or paragraph in it, so report.html shows them as such.
public enum Narration {
    /// A numbered heading, e.g. `== 7.5.2 Batch normalization from scratch ==`.
    public static func section(_ title: String) {
        if let transcript = Transcript.active { return transcript.mark(.heading(title)) }
        print(headingText(title))
    }

    /// A paragraph wrapped at 88 columns.
    public static func say(_ text: String) {
        if let transcript = Transcript.active { return transcript.mark(.paragraph(text)) }
        print(paragraphText(text))
    }

    /// What the terminal shows for a heading and for a paragraph (each ends with a newline).
    static func headingText(_ title: String) -> String { "\n== \(title) ==\n" }
    static func paragraphText(_ text: String) -> String { wrap(text, width: 88) + "\n" }

    /// Greedy word wrap; existing line breaks are kept, and indented lines (formulas,
    /// code) are printed as they are.
    public static func wrap(_ text: String, width: Int) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { (line: Substring) -> String in
            if line.first == " " { return String(line) }
            var out: [String] = [], current = ""
            for word in line.split(separator: " ") {
                if !current.isEmpty && current.count + 1 + word.count > width { out.append(current); current = "" }
                current += (current.isEmpty ? "" : " ") + word
            }
            out.append(current)
            return out.joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
