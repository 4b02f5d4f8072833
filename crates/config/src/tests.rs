//! Tests of parsing, defaults and error positions.

use super::*;

#[test]
fn an_empty_file_is_a_valid_config() {
    let config = Config::parse("empty.toml", "").unwrap();
    assert!(config.listen.is_none());
    assert!(config.auth.provider.is_none());
}

#[test]
fn the_design_example_parses() {
    let text = r#"
listen = "127.0.0.1:8787"
data_dir = "/var/lib/atelier"
[auth]
provider = "pam"
[ide.jupyter]
path = "/opt/atelier/jupyter/bin/jupyter"
[[python]]
name = "3.12"
path = "/opt/python/3.12/bin/python3"
[[profile]]
name = "small"
cpus = 1
memory = "2G"
[[cluster]]
name = "here"
backend = "local"
"#;
    let config = Config::parse("atelier.toml", text).unwrap();
    assert_eq!(config.listen.unwrap().to_string(), "127.0.0.1:8787");
    assert_eq!(config.auth.provider, Some(AuthProvider::Pam));
    assert_eq!(config.profile[0].memory, Some(ByteSize(2 << 30)));
}

#[test]
fn unknown_keys_are_rejected_with_their_line() {
    let text = "listen = \"127.0.0.1:1\"\n[auth]\nprovidr = \"pam\"\n";
    let error = Config::parse("a.toml", text).unwrap_err();
    assert_eq!(error.line, Some(3), "{error}");
    assert!(error.message.contains("unknown field `providr`"), "{error}");
    assert!(error.to_string().starts_with("a.toml:3:"), "{error}");
}

#[test]
fn bad_values_are_rejected_with_their_line() {
    let cases = [
        ("listen = \"localhost\"\n", 1, "not an address"),
        ("\n\n[auth]\nprovider = \"ldap\"\n", 4, "unknown variant"),
        (
            "[[profile]]\nname = \"x\"\nmemory = \"lots\"\n",
            3,
            "not an amount of memory",
        ),
        ("[sessions]\nstop_grace_secs = -1\n", 2, "invalid value"),
    ];
    for (text, line, words) in cases {
        let error = Config::parse("b.toml", text).unwrap_err();
        assert_eq!(error.line, Some(line), "{text:?}: {error}");
        assert!(error.message.contains(words), "{text:?}: {error}");
    }
}

#[test]
fn cross_key_rules_are_checked() {
    let twice = "[[profile]]\nname = \"a\"\n[[profile]]\nname = \"a\"\n";
    assert!(Config::parse("c", twice)
        .unwrap_err()
        .message
        .contains("defined twice"));
    let builtin = "[[kind]]\nname = \"jupyterlab\"\ncommand = [\"/bin/x\", \"{socket}\"]\n";
    assert!(Config::parse("c", builtin)
        .unwrap_err()
        .message
        .contains("built in"));
    let no_socket = "[[kind]]\nname = \"web\"\ncommand = [\"/bin/x\"]\n";
    assert!(Config::parse("c", no_socket)
        .unwrap_err()
        .message
        .contains("{socket}"));
    let relative = "[[kind]]\nname = \"web\"\ncommand = [\"x\", \"{socket}\"]\n";
    assert!(Config::parse("c", relative)
        .unwrap_err()
        .message
        .contains("absolute"));
    let unknown = "[[cluster]]\nname = \"k\"\nbackend = \"pbs\"\n";
    assert!(Config::parse("c", unknown)
        .unwrap_err()
        .message
        .contains("unknown backend"));
}

#[test]
fn byte_sizes_parse_and_print() {
    assert_eq!(ByteSize::parse("512M"), Some(ByteSize(512 << 20)));
    assert_eq!(ByteSize::parse("1.5G"), Some(ByteSize(3 << 29)));
    assert_eq!(ByteSize::parse("2GiB"), Some(ByteSize(2 << 30)));
    assert_eq!(ByteSize::parse("100"), Some(ByteSize(100)));
    assert_eq!(ByteSize::parse("0"), None);
    assert_eq!(ByteSize::parse("2X"), None);
    assert_eq!(ByteSize(2 << 30).to_string(), "2G");
}

#[test]
fn a_key_without_a_value_at_the_end_still_says_what_is_wrong() {
    // Found by the `config` fuzz target: the parser's own message is empty here.
    let error = Config::parse("c.toml", "listen = \"127.0.0.1:1\"\nname =").unwrap_err();
    assert_eq!(error.line, Some(2), "{error}");
    assert!(!error.message.trim().is_empty(), "{error}");
}

#[test]
fn slurm_clusters_are_read_and_checked() {
    let good = r#"
[[cluster]]
name = "hpc"
backend = "slurm"
slurm_bin = "/usr/bin"
partitions = ["debug", "long"]
default_partition = "debug"
default_memory = "1G"
max_memory = "8G"
max_minutes = 600
"#;
    let config = Config::parse("c", good).unwrap();
    let hpc = &config.cluster[0];
    assert_eq!(hpc.partitions, ["debug", "long"]);
    assert_eq!(hpc.max_memory, Some(ByteSize(8 << 30)));
    let cases = [
        ("partitions = [\"a b\"]", "partition names"),
        (
            "default_partition = \"x\"\npartitions = [\"y\"]",
            "one of partitions",
        ),
        (
            "default_cpus = 4\nmax_cpus = 2",
            "default_cpus is above max_cpus",
        ),
        ("max_memory = \"0\"", "memory"),
        ("slurm_bin = \"bin\"", "absolute"),
        ("poll_secs = 0.0", "poll_secs"),
    ];
    for (extra, wanted) in cases {
        let text = format!("[[cluster]]\nname = \"hpc\"\nbackend = \"slurm\"\n{extra}\n");
        let error = Config::parse("c", &text).unwrap_err();
        assert!(error.message.contains(wanted), "{extra}: {error}");
    }
    let local = "[[cluster]]\nname = \"here\"\nbackend = \"local\"\nmax_cpus = 2\n";
    let error = Config::parse("c", local).unwrap_err();
    assert!(error.message.contains("slurm"), "{error}");
    let renamed = "[[cluster]]\nname = \"local\"\nbackend = \"slurm\"\n";
    assert!(Config::parse("c", renamed).is_err());
}
