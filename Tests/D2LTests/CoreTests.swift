import Testing

/// The parent of every suite in this target. The core keeps process-wide state like
/// PyTorch does (gradient mode, the default random generator, kernel workspaces, thread
/// count), so its tests run one at a time.
@Suite(.serialized) struct CoreTests {}
