import ArgumentParser
import D2L

/// A section of the book as a program: its description, the book's settings and a quick
/// default, and its story. A chapter file declares one type,
///
///     @main struct ResNetChapter: Chapter {
///         static let configuration = CommandConfiguration(commandName: "Chapter7_6_ResNet", abstract: "…")
///         static let book = TrainConfig(…), quick = TrainConfig(…)
///         let run: ChapterRun
///         func tell() throws { … narration and calls … }
///     }
///
/// and `ChapterCommand` does the rest: it parses the flags every chapter shares
/// (`ChapterOptions`) and the chapter's own (`Options`), resolves the run's settings once,
/// prints the banner, prepares the output folder, and calls `tell`.
public protocol Chapter {
    /// The section's number in the book, e.g. "7.4".
    static var section: String { get }
    /// The book's exercises this program answers (`--exercises`, `--exercise N`).
    static var exercises: [Exercise] { get }
    /// The chapter's own flags, besides `ChapterOptions` (none unless it declares some).
    associatedtype Options: ParsableArguments = NoOptions
    /// The executable's name, abstract and discussion for `--help`.
    static var configuration: CommandConfiguration { get }
    /// The book's settings, used with `--full`.
    static var book: TrainConfig { get }
    /// The edition of the book those settings come from ("zh 2.0.0" unless a chapter says otherwise).
    static var bookEdition: String { get }
    /// The quick default; `ChapterRun.announce` says how it differs from the book.
    static var quick: TrainConfig { get }
    /// The networks the chapter trains, one checkpoint file each (`[""]`: one network, the file
    /// is the path itself; otherwise `model-<key>.safetensors` next to each other).
    static var checkpointKeys: [String] { get }
    init(run: ChapterRun)
    /// The parsed values of the chapter's own flags (set before `tell`).
    var options: Options { get set }
    /// Tells the section.
    func tell() throws
}

/// No flags of a chapter's own.
public struct NoOptions: ParsableArguments {
    public init() {}
}

extension Chapter {
    public static var checkpointKeys: [String] { [""] }
    public static var bookEdition: String { "zh 2.0.0" }

    /// The program's entry point (`@main`).
    public static func main() { ChapterCommand<Self>.main() }
}

extension Chapter where Options == NoOptions {
    public var options: NoOptions {
        get { NoOptions() }
        set {}
    }
}

/// The command-line program around a `Chapter`.
public struct ChapterCommand<Story: Chapter>: ParsableCommand {
    public static var configuration: CommandConfiguration { Story.configuration }

    @OptionGroup var options: ChapterOptions
    @OptionGroup var chapterOptions: Story.Options

    public init() {}

    public func run() throws {
        if options.listExercises { return print(Story.exerciseList(section: Story.section)) }
        let exercise = try options.exercise.map { try Story.exercise($0, section: Story.section) }
        let name = Self.configuration.commandName ?? "\(Story.self)"
        let run = try ChapterRun(name: name, options: options, quick: Story.quick, book: Story.book, bookEdition: Story.bookEdition,
                                 checkpointKeys: Story.checkpointKeys)
        var story = Story(run: run)
        story.options = chapterOptions
        do {
            if let exercise { try run.run(exercise, section: Story.section) } else { try story.tell() }
        } catch {
            run.reportFailure(error)
            run.removeOutputFolderIfEmpty()     // a run that failed before writing anything leaves no folder behind
            throw error
        }
    }
}
