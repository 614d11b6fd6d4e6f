//! The README documents every flag and every key: checked here so the docs
//! cannot drift from the code.

use clap::CommandFactory;
use flowscope::cli::Cli;
use flowscope::tui::keymap::BINDINGS;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

fn flags(cmd: &clap::Command, out: &mut Vec<String>) {
    for arg in cmd.get_arguments() {
        if let Some(long) = arg.get_long()
            && long != "help"
            && long != "version"
        {
            out.push(format!("--{long}"));
        }
    }
    for sub in cmd.get_subcommands() {
        flags(sub, out);
    }
}

#[test]
fn every_flag_is_in_the_readme() {
    let readme = readme();
    let mut all = Vec::new();
    flags(&Cli::command(), &mut all);
    assert!(all.len() > 20, "{all:?}");
    let missing: Vec<&String> = all
        .iter()
        .filter(|f| !readme.contains(&format!("`{f}")))
        .collect();
    assert!(missing.is_empty(), "README lacks {missing:?}");
}

#[test]
fn every_subcommand_is_in_the_readme() {
    let readme = readme();
    for sub in Cli::command().get_subcommands() {
        let heading = format!("### `flowscope {}", sub.get_name());
        assert!(
            readme.contains(&heading),
            "README lacks a section {heading}"
        );
    }
}

#[test]
fn every_key_is_in_the_readme() {
    let readme = readme();
    for b in BINDINGS {
        assert!(
            readme.contains(b.help),
            "README lacks the key action '{}'",
            b.help
        );
    }
}
