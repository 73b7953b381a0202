//! Reliability: every command ends, with a true message, however the config, the engine or
//! the user's signals misbehave. A hostile YAML file, a daemon that never answers (a silent
//! stand-in socket, so the shared engine is never frozen), signals during a build, and task
//! names that only differ in case or punctuation.

use crate::harness::Test;

/// Nine levels, each an anchor listing the previous one nine times: 9^9 copies of `x` if
/// aliases were expanded blindly.
const ALIAS_BOMB: &str = "\
a: &a [x,x,x,x,x,x,x,x,x]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
";

#[test]
fn an_alias_bomb_is_rejected_at_the_alias_that_goes_over_the_budget() {
    let run = Test::new()
        .file(".gitpod.yml", ALIAS_BOMB)
        .args(["validate", ".gitpod.yml"])
        .run();
    run.status(2);
    assert_eq!(
        run.stderr,
        "\
error: `*d` makes the aliases of this file copy more than 100000 values and characters, devboot's limit
 --> .gitpod.yml:5:11
  |
5 | e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  |           ^^ the copy that goes over the limit
  |
help: a config needs far fewer copies: use fewer nested aliases, or write the values out
1 error(s), 0 warning(s)
"
    );
}
