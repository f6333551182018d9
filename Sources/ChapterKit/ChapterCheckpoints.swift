import D2L
import Foundation

/// How chapters use checkpoints: `--save` (after every epoch, on Ctrl-C), `--load` (start from
/// weights, ours or PyTorch's), `--eval-only` and `--resume` (continue a saved run exactly).
///
/// A checkpoint is a safetensors file with the book's `state_dict` names and this metadata
/// (all strings, as the format requires): `format` = `pt`, `producer`, `chapter`, `network`,
/// `settings` (the run's `RunSettings` as JSON) and `progress` (`TrainingProgress` as JSON).
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
    static func metadata(chapter: String, network: String, settings: RunSettings, progress: TrainingProgress) -> [String: String] {
        ["producer": "ModernCNNs", "chapter": chapter, "network": network, "settings": settings.json, "progress": progress.json]
    }
}

/// A checkpoint that cannot serve the requested purpose (not ours, another chapter, no progress).
public struct CheckpointUseError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// The checkpoint files that `--load` or `--resume` names, read once when the run starts:
/// one file per network the chapter trains (`ChapterCheckpoint.file`). With `--load` every
/// network's file must exist, unless the path names one file of its own (say the book's
/// concise LeNet saved as lenet.safetensors): then each network whose names it holds loads it,
/// and the others are said to be absent. With `--resume` a network without a file yet trains
/// from the start. What a file recorded (settings, progress) is decoded here and nowhere else.
struct SavedRun {
    /// `--resume` or `--load`, for messages.
    let flag: String
    /// The files found, by network key (each released once its weights are loaded).
    var files: [String: (path: String, contents: SafeTensors.File)]
    /// Whether one file given with --load serves every network (only those whose names it holds load it).
    let shared: Bool
    /// The first file found, whose metadata the settings come from, and that metadata.
    let found: String
    let metadata: [String: String]

    /// Reads the files `--resume` or `--load` names; nil when neither flag is given.
    init?(options: ChapterOptions, chapter: String, keys: [String]) throws {
        guard let base = options.resume ?? options.load else { return nil }
        flag = options.resume != nil ? "--resume" : "--load"
        let paths = keys.map { (key: $0, path: ChapterCheckpoint.file(base, key: $0)) }
        var existing = paths.filter { FileManager.default.fileExists(atPath: $0.path) }
        shared = options.resume == nil && keys.count > 1 && existing.isEmpty && FileManager.default.fileExists(atPath: base)
        if shared { existing = keys.map { (key: $0, path: base) } }
        guard let first = existing.first else {
            let what = paths.count == 1 ? "checkpoint \(paths[0].path) does not exist"
                : "none of this chapter's checkpoint files exist (\(paths.map(\.path).joined(separator: ", ")); it trains \(paths.count) networks, one file each)"
            throw CheckpointUseError(message: "\(flag): \(what)")
        }
        var files: [String: (path: String, contents: SafeTensors.File)] = [:]
        for (key, path) in existing { files[key] = try files.values.first { $0.path == path } ?? (path, SafeTensors.read(path: path)) }
        if options.resume == nil, let missing = paths.first(where: { p in !existing.contains { $0.key == p.key } }) {
            throw CheckpointUseError(message: "--load: checkpoint \(missing.path) does not exist (this chapter trains \(paths.count) networks, "
                                     + "one file each: \(paths.map(\.path).joined(separator: ", ")))")
        }
        self.files = files
        found = first.path
        metadata = files[first.key]!.contents.metadata
        if options.resume != nil {
            guard metadata["producer"] == "ModernCNNs", metadata["settings"] != nil, metadata["progress"] != nil else {
                throw CheckpointUseError(message: "--resume: \(found) holds weights but no record of a run of this program (settings and progress); use --load to start from its weights")
            }
            guard metadata["chapter"] == chapter else {
                throw CheckpointUseError(message: "--resume: \(found) is a checkpoint of \(metadata["chapter"] ?? "another program"), not \(chapter)")
            }
        }
    }

    /// The settings the first file recorded, checked.
    func recordedSettings() throws -> RunSettings {
        guard let text = metadata["settings"], let s = try? JSONDecoder().decode(RunSettings.self, from: Data(text.utf8)),
              s.train.isValid else {
            throw CheckpointUseError(message: "\(flag): the settings recorded in \(found) are incomplete or damaged")
        }
        return s
    }

    /// The image side the first file recorded, if it recorded readable settings.
    var recordedSide: Int? { try? recordedSettings().train.resize }

    /// Epochs the first file's run had finished.
    var finishedEpochs: Int { metadata["progress"].flatMap { TrainingProgress(json: $0) }?.history.count ?? 0 }

    /// The progress recorded in the file of network `key`, checked.
    func progress(key: String) throws -> TrainingProgress {
        guard let file = files[key], let progress = file.contents.metadata["progress"].flatMap({ TrainingProgress(json: $0) }) else {
            throw CheckpointUseError(message: "--resume: \(files[key]?.path ?? found) has no readable record of the run's progress")
        }
        return progress
    }
}

extension ChapterRun {
    /// The path `--save` names, or model.safetensors in the out dir (one file per network is derived from it).
    public var saveBase: String { options.save ?? path("model.safetensors") }

    /// The checkpoint file this run writes for the network `key`.
    public func saveFile(key: String) -> String { ChapterCheckpoint.file(saveBase, key: key) }

    /// Saves `net` with the run's metadata, atomically, and remembers the file for `finish`.
    func saveCheckpoint(_ net: Module, key: String, network: String, prefix: String, progress: TrainingProgress) throws {
        let file = saveFile(key: key)
        try net.saveSafetensors(to: file, prefix: prefix,
                                metadata: ChapterCheckpoint.metadata(chapter: name, network: network, settings: settings, progress: progress))
        if !savedCheckpoints.contains(file) { savedCheckpoints.append(file) }
    }

    /// Loads the weights of network `key` from the checkpoint read at start into the
    /// materialised `net` (strict), saying what was loaded, and lets go of the file's contents.
    /// Returns the file's path, or nil when a resumed run has no file for this network yet.
    @discardableResult
    func loadSavedWeights(_ net: Module, key: String, prefix: String) throws -> String? {
        guard let (file, contents) = savedRun?.files[key] else { return nil }
        defer { savedRun?.files[key] = nil }
        let absent: [String]
        do {
            absent = try net.loadState(from: contents, path: file, prefix: prefix)
        } catch let e as CheckpointMismatch where savedRun?.shared == true && !(savedRun!.files.count == 1 && loadedKeys.isEmpty) {
            // One file for a chapter of several networks need not hold every one of them (but
            // must hold one: the last network's mismatch, with none loaded, is an error).
            print("\(file) does not hold the \(key) network's weights (\(e.missing.count) of its names are missing): "
                  + "the \(key) network \(mode == .evalOnly ? "is not evaluated" : "starts from its initialisation").")
            return nil
        }
        loadedKeys.insert(key)
        let values = net.stateEntries(prefix: prefix).reduce(0) { $0 + $1.shape.elementCount }
        print("Loaded \(contents.entries.count) tensors (\(groupDigits(values)) values) from \(file).")
        if !absent.isEmpty {
            print("The file has no \(absent.count) optional entr\(absent.count == 1 ? "y" : "ies") (\(absent.prefix(2).joined(separator: ", "))\(absent.count > 2 ? ", …" : "")): "
                  + "the book's model keeps them outside its state_dict, so they keep their initial values.")
        }
        return file
    }
}
