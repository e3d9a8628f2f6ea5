"""Serving a model across the cluster: vLLM (Ray), TensorRT-LLM (mpirun) or SGLang.

`launch` turns a target and a request into per-node launch descriptions; `render` writes
them as files through the runtime role's own templates; `deploy` runs the role through
ansible-runner; `status` probes the OpenAI-compatible endpoint and each node's containers.
"""
