"""From the command's options (and maybe a plan file) to a LaunchPlan, every input checked."""

from __future__ import annotations

import re
from pathlib import Path

from sparkctl.errors import InputError
from sparkctl.runtime import defaults as d
from sparkctl.runtime.fromplan import read_plan
from sparkctl.runtime.launch import LaunchPlan, RuntimeRequest, build_launch
from sparkctl.runtime.memory import max_model_len as size_context
from sparkctl.runtime.parallel import parse_tp, resolve_parallel
from sparkctl.targets import Target

# A HF repo id or an absolute path in the container: no spaces, quotes or shell syntax, so
# what is rendered is what the engine gets.
_MODEL = re.compile(r"^[A-Za-z0-9._/@:+-]+$")
_IMAGE = re.compile(r"^[A-Za-z0-9._/:@-]+$")


def prepare_launch(target: Target, runtime: str, *, model: str | None = None,
                   tp: str | None = None, pp: int | None = None, image: str | None = None,
                   port: int | None = None, hf_cache: str | None = None,
                   from_plan: Path | None = None, gpu_memory_utilization: float | None = None,
                   max_model_len: int | None = None) -> LaunchPlan:
    rd = d.runtime_defaults(runtime)
    nodes = len(target.cluster.spec.nodes)
    notes: list[str] = []
    warnings: list[str] = []
    tp_value = parse_tp(tp)
    choice = None
    if from_plan is not None:
        choice = read_plan(from_plan)
        if choice.nodes != nodes:
            raise InputError(
                f"the plan recommends {choice.topology} ({choice.nodes} node"
                f"{'s' if choice.nodes != 1 else ''}) for {choice.model_name}, but "
                f"{target.description} has {nodes}",
                hint=f"serve it on a {choice.nodes}-node target, or re-plan")
        if model is None:
            if choice.model_id is None:
                raise InputError(f"the plan for {choice.model_name} names no Hugging Face id",
                                 hint="give the checkpoint with --model ID")
            model = choice.model_id
            notes.append(f"model {model} from the plan ({choice.source})")
        if tp_value is None and pp is None:
            tp_value, pp = choice.tp, choice.pp
            notes.append(f"TP {choice.tp} x PP {choice.pp} from the plan's recommendation "
                         f"({choice.topology})")
    if not model:
        raise InputError("--model is required",
                         hint="a Hugging Face id such as openai/gpt-oss-120b, or --from-plan")
    if not _MODEL.match(model):
        raise InputError(f"--model {model!r} is not a Hugging Face id or a plain path",
                         hint="e.g. --model openai/gpt-oss-120b")
    image = image or rd.image
    if image is None:
        raise InputError(f"{runtime} has no default image: {rd.image_source}",
                         hint="pass --image with the SGLang container you have tested on Spark")
    if not _IMAGE.match(image):
        raise InputError(f"--image {image!r} is not a container image reference",
                         hint=f"e.g. --image {d.RUNTIMES['vllm'].image}")
    port = rd.port if port is None else port
    if not 1 <= port <= 65535:
        raise InputError(f"--port must be 1-65535, got {port}")
    hf_cache = hf_cache or d.DEFAULT_HF_CACHE
    if not hf_cache.startswith("/") or not _IMAGE.match(hf_cache):
        raise InputError(f"--hf-cache {hf_cache!r} must be an absolute path on the nodes")
    parallel = resolve_parallel(model, nodes, tp_value, pp)
    utilization, context = _engine_memory(runtime, model, nodes, gpu_memory_utilization,
                                          max_model_len, choice, notes, warnings)
    request = RuntimeRequest(runtime=runtime, model=model, parallel=parallel, image=image,
                             port=port, hf_cache=hf_cache, gpu_memory_utilization=utilization,
                             max_model_len=context, notes=tuple(notes),
                             warnings=tuple(warnings))
    return build_launch(target, request)


def _engine_memory(runtime: str, model: str, nodes: int, utilization: float | None,
                   context: int | None, choice, notes: list[str],
                   warnings: list[str]) -> tuple[float, int | None]:
    """vLLM's --gpu-memory-utilization (NVIDIA's 0.8 on Spark) and --max-model-len (sized for
    that share of unified memory); the other runtimes take NVIDIA's own options."""
    if runtime != "vllm":
        if utilization is not None or context is not None:
            raise InputError("--gpu-memory-utilization and --max-model-len apply to vllm",
                             hint="TRT-LLM and SGLang take NVIDIA's playbook options "
                             "(free_gpu_memory_fraction 0.9, --mem-fraction-static 0.75)")
        return d.VLLM_GPU_MEMORY_UTILIZATION.value, None
    if utilization is None:
        utilization = d.VLLM_GPU_MEMORY_UTILIZATION.value
        notes.append(f"--gpu-memory-utilization {utilization:g} "
                     f"({d.VLLM_GPU_MEMORY_UTILIZATION.source})")
    elif not 0.05 <= utilization <= 0.95:
        raise InputError(f"--gpu-memory-utilization must be 0.05-0.95, got {utilization}",
                         hint="GB10 shares its 128 GB with the OS: NVIDIA uses 0.8")
    if context is not None:
        if context < 1:
            raise InputError(f"--max-model-len must be at least 1, got {context}")
        notes.append(f"--max-model-len {context} (given)")
        return utilization, context
    sized = size_context(model, nodes, utilization,
                         quant=choice.quant if choice else None,
                         context=choice.context_tokens if choice else None)
    notes.append(sized.note)
    if sized.warning:
        warnings.append(sized.warning)
    return utilization, sized.tokens
