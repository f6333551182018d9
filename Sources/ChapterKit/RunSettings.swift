import ArgumentParser
import D2L
import Foundation

/// What a run does: train (from scratch or from `--load`ed weights), continue a saved run,
/// evaluate loaded weights, or only print the network.
public enum RunMode: String, Codable, Sendable {
    case train, resume
    case evalOnly = "eval_only"
    case summaryOnly = "summary_only"
    /// One of the section's exercises (`--exercise N`).
    case exercise
}

/// The settings of one run, resolved once when it starts: the chapter's profile (quick, or the
/// book's with `--full`), the flags over it, and with `--resume` the settings the checkpoint
/// recorded. As JSON (metrics.json and a checkpoint's `settings`), `TrainConfig`'s keys plus
/// `profile`, `mode` and `threads`, in one flat object.
public struct RunSettings: Codable, Sendable, Equatable {
    /// Which profile the settings started from: "quick", "full", or the recorded one when resumed.
    public var profile: String
    public var mode: RunMode
    public var train: TrainConfig
    /// Worker threads of the kernels.
    public var threads: Int

    public init(profile: String, mode: RunMode, train: TrainConfig, threads: Int) {
        self.profile = profile; self.mode = mode; self.train = train; self.threads = threads
    }

    enum CodingKeys: String, CodingKey { case profile, mode, threads }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        profile = try c.decodeIfPresent(String.self, forKey: .profile) ?? "resumed"
        mode = try c.decodeIfPresent(RunMode.self, forKey: .mode) ?? .train
        threads = Int(try c.decodeIfPresent(Double.self, forKey: .threads) ?? 0)
        train = try TrainConfig(from: decoder)
    }

    public func encode(to encoder: Encoder) throws {
        try train.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(profile, forKey: .profile)
        try c.encode(mode, forKey: .mode)
        try c.encode(Double(threads), forKey: .threads)
    }

    /// One line of JSON, as a checkpoint's metadata stores it.
    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Resolves the flags over the chapter's profiles and, with `--load` or `--resume`, reads
    /// the checkpoint files once (see `SavedRun`): with `--resume` every setting comes from the
    /// file (`--epochs` may extend it); with `--load` the image size does (when the file records
    /// one and `--resize` is not given), since layers after a flatten only fit the size they
    /// were trained at.
    static func resolve(_ options: ChapterOptions, quick: TrainConfig, book: TrainConfig, chapter: String,
                        checkpointKeys: [String], threads: Int) throws -> (RunSettings, SavedRun?) {
        let mode = options.mode
        var settings = RunSettings(profile: options.full ? "full" : "quick", mode: mode,
                                   train: options.overriding(options.full ? book : quick), threads: threads)
        let schedule = settings.train.lrWarmup + settings.train.lrDecay
        if schedule > 1 {
            throw ValidationError("--lr-warmup \(settings.train.lrWarmup) and --lr-decay \(settings.train.lrDecay) together cover more than all the steps; "
                                  + "make them add up to at most 1")
        }
        guard let saved = try SavedRun(options: options, chapter: chapter, keys: checkpointKeys) else { return (settings, nil) }
        if mode == .resume {
            var recorded = try saved.recordedSettings()
            if let more = options.epochs {
                let done = saved.finishedEpochs
                guard more >= done else {
                    throw ValidationError("--epochs \(more) is fewer than the \(done) epochs \(saved.found) has already finished")
                }
                recorded.train.epochs = more
            }
            recorded.mode = mode
            recorded.threads = threads
            return (recorded, saved)
        }
        if options.resize == nil, let side = saved.recordedSide, side != settings.train.resize {
            print("(\(saved.found) was trained on \(side)×\(side) images: using that size; --resize overrides.)")
            settings.train.resize = side
        }
        return (settings, saved)
    }
}
