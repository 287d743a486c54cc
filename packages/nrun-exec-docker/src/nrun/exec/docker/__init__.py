"""Run nrun tasks in containers on a Docker daemon (the one `DOCKER_HOST` names).

`DockerExecutor(container_image=...)` launches the task runner in a container through the
docker SDK, with the job dir mounted, labels that tie the container to its experiment and task,
and the pure-Python part of nrun shipped beside the code, so the image only needs `python3`.
"""

from nrun.exec.docker._executor import DockerExecutor

__all__ = ["DockerExecutor"]
