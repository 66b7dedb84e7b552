//! Fuzzes the scripts' config YAML (`scripting.env` of a `--config` file): any text.
//! Nothing may panic; what is read is names to strings.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(env) = remora_scripting::env_config::env_from_yaml(text) {
        assert!(env.len() <= text.len());
    }
});
