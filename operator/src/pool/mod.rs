//! RecorderPool: pure buffer math and its controller.

pub mod controller;
pub mod math;
pub mod pods;
