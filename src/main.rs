fn main() -> std::process::ExitCode {
    goated::cli::main()
}
