//! Argument definitions and glue for each subcommand.

pub mod bench;
pub mod probe;
pub mod run;
pub mod synth;

/// Parses an image size `WIDTHxHEIGHT` (`x` or `X`); the subcommand checks the numbers.
fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("`{s}` is not WIDTHxHEIGHT, e.g. 640x480"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<u32>()
            .map_err(|_| format!("`{v}` in `{s}` is not a whole number"))
    };
    Ok((parse(w)?, parse(h)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_bad_ones_are_explained() {
        assert_eq!(parse_size("640x480"), Ok((640, 480)));
        assert_eq!(parse_size("96X72"), Ok((96, 72)));
        assert!(parse_size("640").unwrap_err().contains("WIDTHxHEIGHT"));
        assert!(parse_size("axb").unwrap_err().contains("whole number"));
    }
}
