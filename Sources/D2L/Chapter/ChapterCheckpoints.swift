import ArgumentParser
import Foundation

/// How chapters use checkpoints: `--save` (after every epoch, on Ctrl-C), `--load` (start from
/// weights, ours or PyTorch's), `--eval-only` and `--resume` (continue a saved run exactly).
///
/// A checkpoint is a safetensors file with the book's `state_dict` names and this metadata
/// (all strings, as the format requires): `format` = `pt`, `producer`, `chapter`, `network`,
/// `settings` (the run's settings as JSON) and `progress` (`TrainingProgress` as JSON).
public enum ChapterCheckpoint {
    /// The file of one network: `path` itself for a chapter with one network, else the key
    /// inserted before the extension (`model.safetensors` → `model-scratch.safetensors`).
    public static func file(_ path: String, key: String) -> String {
        guard !key.isEmpty else { return path }
        let ns = path as NSString
        let ext = ns.pathExtension
        return ext.isEmpty ? path + "-" + key : ns.deletingPathExtension + "-" + key + "." + ext
    }

    /// The metadata of a checkpoint this program writes.
    static func metadata(chapter: String, network: String, settings: ResolvedSettings, progress: TrainingProgress) -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let settingsJSON = String(decoding: (try? encoder.encode(settings.json)) ?? Data(), as: UTF8.self)
        return ["producer": "ModernCNNs", "chapter": chapter, "network": network,
                "settings": settingsJSON, "progress": progress.json]
    }
}

/// A checkpoint that cannot serve the requested purpose (not ours, another chapter, no progress).
public struct CheckpointUseError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

extension ChapterOptions {
    /// Resolves the settings as `resolve(quick:book:)` and then applies the checkpoint:
    /// with `--resume`, every setting comes from the file (`--epochs` may extend it); with
    /// `--load`, the image size does (when the file records one and `--resize` is not given),
    /// since layers after a flatten only fit the size they were trained at.
    public func resolve(quick: Profile, book: Profile, chapter: String, checkpointKeys: [String]) throws -> ResolvedSettings {
        let plain = resolve(quick: quick, book: book)
        let schedule = plain.settings.lrWarmup + plain.settings.lrDecay
        if schedule > 1 {
            throw ValidationError("--lr-warmup \(plain.settings.lrWarmup) and --lr-decay \(plain.settings.lrDecay) together cover more than all the steps; "
                                  + "make them add up to at most 1")
        }
        guard let base = resume ?? load else { return plain }
        let files = checkpointKeys.map { ChapterCheckpoint.file(base, key: $0) }
        guard let found = files.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            let what = files.count == 1 ? "checkpoint \(files[0]) does not exist"
                : "none of this chapter's checkpoint files exist (\(files.joined(separator: ", ")); it trains \(files.count) networks, one file each)"
            throw CheckpointUseError(message: "\(resume != nil ? "--resume" : "--load"): \(what)")
        }
        let metadata = try SafeTensors.readMetadata(path: found)
        let recorded = metadata["settings"].flatMap { try? JSONDecoder().decode([String: JSONValue].self, from: Data($0.utf8)) }
        func number(_ key: String) -> Double? { if case .number(let v)? = recorded?[key] { v } else { nil } }

        if resume != nil {
            guard metadata["producer"] == "ModernCNNs", let recorded, metadata["progress"] != nil else {
                throw CheckpointUseError(message: "--resume: \(found) holds weights but no record of a run of this program (settings and progress); use --load to start from its weights")
            }
            guard metadata["chapter"] == chapter else {
                throw CheckpointUseError(message: "--resume: \(found) is a checkpoint of \(metadata["chapter"] ?? "another program"), not \(chapter)")
            }
            let decay = number("lr_decay") ?? 0, warmup = number("lr_warmup") ?? 0
            guard let epochs = number("epochs"), let batch = number("batch_size"), let lr = number("lr"),
                  let side = number("resize"), let seed = number("seed"), epochs >= 1, batch >= 1, side >= 1, lr > 0,
                  (0...1).contains(decay), (0...1).contains(warmup), decay + warmup <= 1 else {
                throw CheckpointUseError(message: "--resume: the settings recorded in \(found) are incomplete or damaged")
            }
            var p = Profile(epochs: Int(epochs), batchSize: Int(batch), lr: Float(lr), resize: Int(side),
                            trainLimit: number("train_limit").map { Int($0) }, testLimit: number("test_limit").map { Int($0) },
                            lrDecay: decay, lrWarmup: warmup)
            if let more = self.epochs {
                let done = metadata["progress"].flatMap { TrainingProgress(json: $0) }?.history.count ?? 0
                guard more >= done else {
                    throw ValidationError("--epochs \(more) is fewer than the \(done) epochs \(found) has already finished")
                }
                p.epochs = more
            }
            let name: String = if case .string(let s)? = recorded["profile"] { s } else { "resumed" }
            return ResolvedSettings(profileName: name, settings: p, book: book, seed: UInt64(seed))
        }
        var settings = plain.settings
        if resize == nil, let side = number("resize"), side >= 1, Int(side) != settings.resize {
            print("(\(found) was trained on \(Int(side))×\(Int(side)) images: using that size; --resize overrides.)")
            settings.resize = Int(side)
        }
        return ResolvedSettings(profileName: plain.profileName, settings: settings, book: book, seed: plain.seed)
    }
}

extension ChapterRun {
    /// The path `--save` names, or model.safetensors in the out dir (one file per network is derived from it).
    public var saveBase: String { options.save ?? path("model.safetensors") }

    /// The checkpoint file this run writes for the network `key`.
    public func saveFile(key: String) -> String { ChapterCheckpoint.file(saveBase, key: key) }

    /// Saves `net` with the run's metadata, atomically, and remembers the file for `finish`.
    func saveCheckpoint(_ net: Module, key: String, network: String, prefix: String, settings: ResolvedSettings,
                        progress: TrainingProgress) throws {
        let file = saveFile(key: key)
        try net.saveSafetensors(to: file, prefix: prefix,
                                metadata: ChapterCheckpoint.metadata(chapter: name, network: network, settings: settings, progress: progress))
        if !savedCheckpoints.contains(file) { savedCheckpoints.append(file) }
    }

    /// Loads weights into the materialised `net` from `file` (strict), saying what was loaded.
    /// Returns the file's metadata.
    @discardableResult
    func loadCheckpoint(_ net: Module, file: String, prefix: String) throws -> [String: String] {
        let contents = try SafeTensors.read(path: file)
        let absent = try net.loadState(from: contents, path: file, prefix: prefix)
        let values = net.stateEntries(prefix: prefix).reduce(0) { $0 + $1.shape.elementCount }
        print("Loaded \(contents.entries.count) tensors (\(groupDigits(values)) values) from \(file).")
        if !absent.isEmpty {
            print("The file has no \(absent.count) optional entr\(absent.count == 1 ? "y" : "ies") (\(absent.prefix(2).joined(separator: ", "))\(absent.count > 2 ? ", …" : "")): "
                  + "the book's model keeps them outside its state_dict, so they keep their initial values.")
        }
        return contents.metadata
    }
}
