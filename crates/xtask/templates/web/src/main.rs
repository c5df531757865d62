//! The `SKELETON_NAME` binary: the kit's runner around the library, where
//! everything testable lives.

fn main() -> std::process::ExitCode {
    kit::main(skeleton::run)
}
