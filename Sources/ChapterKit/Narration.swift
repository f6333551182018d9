/// Printing helpers that make a chapter read like the book: section headings and short
/// paragraphs wrapped to the terminal.
public enum Narration {
    /// A numbered heading, e.g. `== 7.5.2 Batch normalization from scratch ==`.
    public static func section(_ title: String) {
        print("\n== \(title) ==\n")
    }

    /// A paragraph wrapped at 88 columns.
    public static func say(_ text: String) {
        print(wrap(text, width: 88))
        print()
    }

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
