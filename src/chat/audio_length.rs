//! How long an audio file is, read from its own headers, for the platforms that do not
//! say (some send no length, and files people upload have none): WAV (the RIFF `fmt ` byte rate and
//! the `data` size) and Ogg (the last page's granule position: Opus counts at 48 kHz less
//! its pre-skip, Vorbis at the rate of its identification header). Other formats are
//! `None`, and their length is judged by size.

/// The length in seconds, when the file's headers say.
pub fn audio_seconds(bytes: &[u8]) -> Option<f64> {
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WAVE") {
        wav_seconds(bytes)
    } else if bytes.starts_with(b"OggS") {
        ogg_seconds(bytes)
    } else {
        None
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn wav_seconds(bytes: &[u8]) -> Option<f64> {
    let (mut at, mut byte_rate, mut data) = (12, None, None);
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = u32_at(bytes, at + 4)? as usize;
        match id {
            b"fmt " => byte_rate = u32_at(bytes, at + 16),
            // A stream still being written says 0 or u32::MAX: the rest of the file is data.
            b"data" if size == 0 || size == u32::MAX as usize => {
                data = Some(bytes.len().saturating_sub(at + 8));
            }
            b"data" => data = Some(size.min(bytes.len().saturating_sub(at + 8))),
            _ => {}
        }
        at += 8 + size + (size & 1);
    }
    let (byte_rate, data) = (byte_rate.filter(|r| *r > 0)?, data?);
    Some(data as f64 / f64::from(byte_rate))
}

fn ogg_seconds(bytes: &[u8]) -> Option<f64> {
    // The first page's packet tells the codec; the last page's granule, where it ends.
    let segments = *bytes.get(26)? as usize;
    let first = bytes.get(27 + segments..)?;
    let (rate, skip) = if first.starts_with(b"OpusHead") {
        let pre_skip = u16::from_le_bytes(first.get(10..12)?.try_into().ok()?);
        (48_000.0, f64::from(pre_skip))
    } else if first.get(1..7) == Some(b"vorbis") {
        (f64::from(u32_at(first, 12)?), 0.0)
    } else {
        return None;
    };
    let last = bytes.windows(4).rposition(|w| w == b"OggS")?;
    let granule = u64::from_le_bytes(bytes.get(last + 6..last + 14)?.try_into().ok()?);
    if granule == u64::MAX || rate <= 0.0 {
        return None;
    }
    Some(((granule as f64 - skip) / rate).max(0.0))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A PCM WAV of `seconds` of silence: 16-bit mono at 8 kHz.
    pub fn wav(seconds: f64) -> Vec<u8> {
        let rate = 8_000u32;
        let data = (seconds * f64::from(rate) * 2.0) as u32;
        let mut out = Vec::new();
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes()); // PCM
        out.extend_from_slice(&1u16.to_le_bytes()); // mono
        out.extend_from_slice(&rate.to_le_bytes());
        out.extend_from_slice(&(rate * 2).to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&data.to_le_bytes());
        out.resize(out.len() + data as usize, 0);
        out
    }

    fn ogg_page(granule: u64, packet: &[u8]) -> Vec<u8> {
        let mut page = b"OggS\0\0".to_vec();
        page.extend_from_slice(&granule.to_le_bytes());
        page.extend_from_slice(&[0; 12]); // serial, sequence, checksum
        page.push(1);
        page.push(packet.len() as u8);
        page.extend_from_slice(packet);
        page
    }

    #[test]
    fn wav_length_comes_from_its_byte_rate() {
        assert_eq!(audio_seconds(&wav(3.0)), Some(3.0));
        assert_eq!(audio_seconds(&wav(0.5)), Some(0.5));
    }

    #[test]
    fn ogg_opus_length_comes_from_the_last_granule_less_the_pre_skip() {
        let mut head = b"OpusHead\x01\x01".to_vec();
        head.extend_from_slice(&312u16.to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes());
        let mut file = ogg_page(0, &head);
        file.extend(ogg_page(0, b"OpusTags"));
        file.extend(ogg_page(48_000 * 7 + 312, &[0xfc; 40]));
        let seconds = audio_seconds(&file).unwrap();
        assert!((seconds - 7.0).abs() < 1e-9, "{seconds}");
    }

    #[test]
    fn ogg_vorbis_counts_at_its_own_rate() {
        let mut id = b"\x01vorbis".to_vec();
        id.extend_from_slice(&0u32.to_le_bytes());
        id.push(1);
        id.extend_from_slice(&44_100u32.to_le_bytes());
        let mut file = ogg_page(0, &id);
        file.extend(ogg_page(44_100 * 90, &[0; 20]));
        assert_eq!(audio_seconds(&file), Some(90.0));
    }

    #[test]
    fn other_or_broken_files_have_no_length() {
        assert_eq!(audio_seconds(b"ID3\x04mp3 data"), None);
        assert_eq!(audio_seconds(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(audio_seconds(b"OggS"), None);
        assert_eq!(audio_seconds(&[]), None);
    }
}
