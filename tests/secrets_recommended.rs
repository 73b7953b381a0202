//! devcontainer `secrets` (the secrets a workspace recommends, as Codespaces asks for
//! them): `up` names each one not set, with its description and documentation, and says
//! how to set it; once set with `devboot env set --secret` the hooks get it and `up` says
//! nothing more. `config --json` lists them. No ports.

use crate::engine::Repo;

const CONFIG: &str = r#"{
  "image": "devboot/python-flask:bookworm",
  "secrets": {
    "API_TOKEN": { "description": "A token for the activities API", "documentationUrl": "https://example.test/tokens" },
    "PLAIN_ONE": {}
  },
  "waitFor": "postCreateCommand",
  "postCreateCommand": "echo \"token=${API_TOKEN:-unset}\" > /tmp/seen"
}"#;

#[test]
fn up_names_the_recommended_secrets_not_set_and_env_set_fills_them() {
    let repo = Repo::example();
    repo.write(".devcontainer/devcontainer.json", CONFIG);
    let config = repo.devboot(["config", "--json"]);
    config.status(0);
    let json = config.json();
    assert_eq!(json["recommendedSecrets"][0]["name"], "API_TOKEN");
    assert_eq!(
        json["recommendedSecrets"][0]["documentationUrl"],
        "https://example.test/tokens"
    );

    let up = repo.devboot(["up"]);
    up.status(0)
        .stderr_has("the config recommends secrets that are not set:")
        .stderr_has("  API_TOKEN: A token for the activities API (see https://example.test/tokens)")
        .stderr_has("  PLAIN_ONE\n")
        .stderr_has("devboot env set --secret NAME=VALUE");
    assert_eq!(repo.sh("cat /tmp/seen"), "token=unset\n");

    repo.devboot(["env", "set", "--secret", "API_TOKEN=s3cret"])
        .status(0);
    repo.devboot(["env", "set", "--secret", "PLAIN_ONE=x"])
        .status(0);
    let up = repo.devboot(["up", "--recreate"]);
    up.status(0);
    assert!(!up.stderr.contains("recommends secrets"), "{}", up.stderr);
    assert_eq!(repo.sh("cat /tmp/seen"), "token=s3cret\n");
    // Not on the container itself.
    let env = repo.engine_cmd(&["inspect", "-f", "{{.Config.Env}}", &repo.container()]);
    assert!(!env.contains("s3cret"), "{env}");
}
