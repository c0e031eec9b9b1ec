fn main() -> std::process::ExitCode {
    tokenplan::cli::run(std::env::args_os())
}
