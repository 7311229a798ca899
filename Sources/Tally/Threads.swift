internal import TallyThreads

// The core's parallel work (labels side by side) runs on the internal TallyThreads
// module, which TallyNet uses too; the core does not re-export it. These two names
// are the core's whole view of it.

/// The default thread count of the core's parallel work (its `threads:` arguments): one
/// per online processor. `@usableFromInline` only so that public default arguments can
/// name it; not API.
@usableFromInline func coreProcessorCount() -> Int { TallyThreads.coreProcessorCount() }

/// `body(i)` for every `i` in `0..<count` on up to `threads` threads (see TallyThreads).
func parallelFor(_ count: Int, threads: Int = coreProcessorCount(), _ body: (Int) -> Void) {
    TallyThreads.parallelFor(count, threads: threads, body)
}
