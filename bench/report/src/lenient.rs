//! Lenient readers for the fields the charts look at: any JSON value is accepted, and one that is
//! not a usable number (or string) reads as absent, so a hand-edited or foreign result file costs
//! a point on a chart rather than the whole file.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A finite number of a size a benchmark can produce (|x| < 10^15); anything else is None
/// (absurd values would only stretch the charts' axes, or stall plotters' tick search).
pub fn num<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(Value::deserialize(d)?.as_f64().filter(|x| x.is_finite() && x.abs() < 1e15))
}

/// [`num`], NaN when absent.
pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(num(d)?.unwrap_or(f64::NAN))
}

/// [`num`] rounded to a whole number; negative is absent.
pub fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(num(d)?.filter(|x| *x >= 0.0).map(|x| x.round() as u64))
}

/// A string, None when the value is anything else.
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

/// [`opt_string`], empty when absent.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(opt_string(d)?.unwrap_or_default())
}
