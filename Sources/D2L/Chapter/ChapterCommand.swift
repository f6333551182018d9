import ArgumentParser

/// What a chapter executable declares: its two profiles and its narration. `run()` resolves
/// the flags, prints the banner, checks the output folder, then calls `tell`.
public protocol ChapterCommand: ParsableCommand {
    /// The book's settings, used with `--full`.
    static var book: Profile { get }
    /// The quick default, which must say what it trims (`ResolvedSettings.differencesFromBook`).
    static var quick: Profile { get }
    var options: ChapterOptions { get }
    /// Tells the section.
    func tell(_ run: ChapterRun, _ settings: ResolvedSettings) throws
}

extension ChapterCommand {
    public func run() throws {
        let settings = options.resolve(quick: Self.quick, book: Self.book)
        let run = try ChapterRun(name: Self.configuration.commandName ?? "\(Self.self)", options: options, settings: settings)
        try tell(run, settings)
    }
}
