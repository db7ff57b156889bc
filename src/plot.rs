//! What every chart shares: the embedded font (DejaVu Sans, `assets/`, so no system fonts
//! are needed) and the PNG encoding of a drawn RGB buffer.

use plotters::style::FontStyle;
use std::sync::Once;

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The font family charts name.
pub const FAMILY: &str = "sans-serif";

/// Registers the embedded font as [`FAMILY`] (once per process).
pub fn ensure_font() {
    static FONTS: Once = Once::new();
    FONTS.call_once(|| {
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// Encodes an RGB buffer of `width` × `height` pixels as PNG.
pub fn encode_png(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    let mut png_bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut png_bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(pixels).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(png_bytes)
}
