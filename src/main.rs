// Compiling a project allocates many small strings on every thread; mimalloc does that about a
// fifth faster than the system allocator. The binary chooses it, not the library, which leaves the
// choice to the programs that link it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tokenplan::cli::run(std::env::args_os())
}
