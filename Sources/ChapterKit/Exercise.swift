import ArgumentParser
import D2L
import Foundation

/// One of the book's exercises at the end of a section, as this program answers it: its
/// numbers in the English edition, the question in our own words, how it is answered, and the
/// code that answers it (printing the question, a table of what it measured or computed and a
/// conclusion drawn from that table, and writing exercise-N.json and, where a picture fits,
/// exercise-N.png).
public struct Exercise: Sendable {
    public enum Kind: String, Sendable {
        case experiment = "runs an experiment"
        case computed = "answers from computed numbers"
        case discussion = "discussed, not run"
    }
    /// The book's numbers (one exercise can answer two questions, like 7.4's 4 and 5).
    public let numbers: [Int]
    public let question: String
    public let kind: Kind
    public let answer: @Sendable (ChapterRun) throws -> ExerciseResult

    public init(_ numbers: [Int], _ kind: Kind, _ question: String, answer: @escaping @Sendable (ChapterRun) throws -> ExerciseResult) {
        self.numbers = numbers; self.kind = kind; self.question = question; self.answer = answer
    }

    /// A question for discussion: not run, answered in a few sentences (`answer`, computed from
    /// the networks where numbers help), shown by --exercises and by --exercise N.
    public static func discussion(_ number: Int, _ question: String, answer: @escaping @Sendable () throws -> String) -> Exercise {
        var e = Exercise([number], .discussion, question) { _ in
            let text = try answer()
            Narration.say(text)
            return ExerciseResult(json: ["answer": .string(text)])
        }
        e.discussionAnswer = answer
        return e
    }

    /// A discussion's answer, without a run (for --exercises).
    var discussionAnswer: (@Sendable () throws -> String)?

    /// "4–5" or "2".
    public var label: String { numbers.count > 1 ? "\(numbers.first!)–\(numbers.last!)" : "\(numbers[0])" }

    /// "4-5" or "2": the label in file names (exercise-4-5.json), easy to type.
    public static func fileLabel(_ numbers: [Int]) -> String { numbers.map(String.init).joined(separator: "-") }
}

/// What an exercise found: its raw results for exercise-N.json, and the pictures it wrote.
public struct ExerciseResult {
    public var json: [String: JSONValue]
    public var pictures: [String]
    public init(json: [String: JSONValue], pictures: [String] = []) { self.json = json; self.pictures = pictures }
}

extension Chapter {
    public static var exercises: [Exercise] { [] }

    /// The exercises in the book's order.
    static var exercisesInOrder: [Exercise] { exercises.sorted { $0.numbers[0] < $1.numbers[0] } }

    /// `--exercises`: the list, one line each.
    static func exerciseList(section: String) -> String {
        guard !exercises.isEmpty else { return "This program answers none of section \(section)'s exercises yet." }
        let rows = exercisesInOrder.map { ["  \($0.label).", $0.question, "(\($0.kind.rawValue))"] }
        var text = "The exercises of section \(section) this program answers (--exercise N runs one):\n"
            + alignedColumns(rows, rightAligned: [0]).joined(separator: "\n")
        let discussed = exercisesInOrder.filter { $0.kind == .discussion }
        if !discussed.isEmpty {
            text += "\n\nThe questions for discussion, answered:\n"
            for e in discussed {
                let answer = (try? e.discussionAnswer?()) ?? "(no answer could be computed)"
                text += "\n\(e.label). " + Narration.wrap(answer, width: 84).replacingOccurrences(of: "\n", with: "\n   ") + "\n"
            }
        }
        return text
    }

    /// The exercise `number` answers, or an error listing the valid numbers.
    static func exercise(_ number: Int, section: String) throws -> Exercise {
        if let e = exercises.first(where: { $0.numbers.contains(number) }) { return e }
        let valid = exercisesInOrder.flatMap(\.numbers).map(String.init).joined(separator: ", ")
        throw ValidationError("--exercise \(number): " + (valid.isEmpty ? "this program answers none of section \(section)'s exercises yet"
                                                                         : "section \(section)'s exercises here are \(valid) (--exercises lists them)"))
    }
}

extension ChapterRun {
    /// The settings an exercise trains with: its own quick budget, unless the run has --full
    /// (the book's settings) or the flags set these fields themselves.
    /// `learningRate`, `batchSize` and `resize`, when given, are the exercise's own settings
    /// (another network's, say) and hold with --full too, unless a flag sets them.
    /// `lrDecay`, when given, is a schedule for the quick budget only (the book has none).
    public func exerciseConfig(epochs: Int, trainLimit: Int?, testLimit: Int?,
                               learningRate: Float? = nil, batchSize: Int? = nil, resize: Int? = nil, lrDecay: Double? = nil) -> TrainConfig {
        var c = config
        if options.lr == nil, let learningRate { c.learningRate = learningRate }
        if options.batchSize == nil, let batchSize { c.batchSize = batchSize }
        if options.resize == nil, let resize { c.resize = resize }
        guard settings.profile != "full" else { return c }
        if options.epochs == nil { c.epochs = epochs }
        if options.trainLimit == nil { c.trainLimit = trainLimit }
        if options.testLimit == nil { c.testLimit = testLimit }
        if options.lrDecay == nil, let lrDecay { c.lrDecay = lrDecay }
        return c
    }

    /// Runs `exercise`: the question, then its answer; writes exercise-N.json and report.html.
    func run(_ exercise: Exercise, section: String) throws {
        Narration.section("Exercise \(section).\(exercise.label)")
        Narration.say(exercise.question)
        let result = try exercise.answer(self)
        var json = result.json
        json["exercise"] = .string("\(section).\(exercise.label)")
        json["question"] = .string(exercise.question)
        let file = "exercise-\(Exercise.fileLabel(exercise.numbers)).json"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try encoder.encode(json), to: path(file))
        try finish(files: result.pictures + [file, "metrics.json"])
    }
}
