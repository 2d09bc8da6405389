//! Frame buffers that come back after GStreamer is done with them, so a recording does not
//! allocate (and fault in) a fresh multi-megabyte frame 30 times a second.

use std::sync::mpsc;

/// Hands out frame buffers of one size and takes them back when the [`Pooled`] wrapping them is
/// dropped (on whichever thread GStreamer frees the buffer).
pub struct FramePool {
    len: usize,
    returned: mpsc::Receiver<Vec<u8>>,
    give_back: mpsc::Sender<Vec<u8>>,
}

impl FramePool {
    pub fn new(len: usize) -> Self {
        let (give_back, returned) = mpsc::channel();
        Self {
            len,
            returned,
            give_back,
        }
    }

    /// A buffer of the pool's size: a returned one when there is one (contents are whatever the
    /// last frame left), else a new zeroed one.
    pub fn take(&self) -> Vec<u8> {
        self.returned
            .try_iter()
            .find(|b| b.len() == self.len)
            .unwrap_or_else(|| vec![0; self.len])
    }

    /// Returns a buffer taken from this pool that nobody else holds.
    pub fn give_back(&self, data: Vec<u8>) {
        let _ = self.give_back.send(data);
    }

    /// Wraps `data` so that it comes back to this pool when dropped.
    pub fn wrap(&self, data: Vec<u8>) -> Pooled {
        Pooled {
            data,
            give_back: self.give_back.clone(),
        }
    }
}

/// A buffer on loan from a [`FramePool`].
pub struct Pooled {
    data: Vec<u8>,
    give_back: mpsc::Sender<Vec<u8>>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

impl AsMut<[u8]> for Pooled {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        // The pool may be gone already (encoder finished): then the buffer is simply freed.
        let _ = self.give_back.send(std::mem::take(&mut self.data));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_buffers_are_handed_out_again() {
        let pool = FramePool::new(16);
        let mut a = pool.take();
        a[0] = 7;
        let ptr = a.as_ptr();
        drop(pool.wrap(a));
        let b = pool.take();
        assert_eq!(b.as_ptr(), ptr, "the returned buffer is reused");
        assert_eq!(b[0], 7, "contents are not cleared");
        let c = pool.take();
        assert_eq!(c.len(), 16);
        assert_ne!(c.as_ptr(), ptr, "a buffer on loan is not handed out twice");
    }

    #[test]
    fn buffers_outliving_the_pool_are_freed() {
        let pool = FramePool::new(4);
        let loan = pool.wrap(pool.take());
        drop(pool);
        drop(loan);
    }
}
