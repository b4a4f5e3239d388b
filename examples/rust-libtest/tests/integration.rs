//! Integration tests: the `integration` artifact. Each case runs in its own instance with a
//! fresh scratch directory preopened at "." and at "/tmp".

use std::fs;

#[test]
fn saves_and_loads_a_file() {
    let pairs = textkit::parse_pairs("name=textkit; lang=rust");
    let text: String = pairs.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    fs::write("pairs.txt", &text).expect("write into the scratch dir (\".\")");
    assert_eq!(fs::read_to_string("pairs.txt").unwrap(), text);

    fs::create_dir_all("/tmp/textkit").expect("mkdir under /tmp");
    fs::write("/tmp/textkit/copy.txt", &text).unwrap();
    // "." and "/tmp" are the same scratch dir
    assert_eq!(fs::read_to_string("textkit/copy.txt").unwrap(), text);
}

#[test]
fn reads_the_granted_environment() {
    assert_eq!(std::env::var("GREETING").as_deref(), Ok("hello"));
    assert!(std::env::var("HOME").is_err(), "only the suite's env is granted");
}

#[test]
fn prints_while_it_runs() {
    println!("capitalized: {}", textkit::capitalize("from the test"));
    eprintln!("to stderr");
}
