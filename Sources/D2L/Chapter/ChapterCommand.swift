import ArgumentParser

/// What a chapter executable declares: its two profiles and its narration. `run()` resolves
/// the flags, prints the banner, checks the output folder, then calls `tell`.
public protocol ChapterCommand: ParsableCommand {
    /// The book's settings, used with `--full`.
    static var book: Profile { get }
    /// The quick default, which must say what it trims (`ResolvedSettings.differencesFromBook`).
    static var quick: Profile { get }
    var options: ChapterOptions { get }
    /// The networks the chapter trains, one checkpoint file each (`[""]`: one network, the file
    /// is the path itself; otherwise `model-<key>.safetensors` next to each other).
    static var checkpointKeys: [String] { get }
    /// Tells the section.
    func tell(_ run: ChapterRun, _ settings: ResolvedSettings) throws
}

extension ChapterCommand {
    public static var checkpointKeys: [String] { [""] }

    public func run() throws {
        let name = Self.configuration.commandName ?? "\(Self.self)"
        let settings = try options.resolve(quick: Self.quick, book: Self.book, chapter: name, checkpointKeys: Self.checkpointKeys)
        let run = try ChapterRun(name: name, options: options, settings: settings)
        do {
            try tell(run, settings)
        } catch {
            run.removeOutputFolderIfEmpty()     // a run that failed before writing anything leaves no folder behind
            throw error
        }
    }
}
