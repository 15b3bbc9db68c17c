package policy

import "fmt"

// Select picks the profile a container may use: the one its
// listenerMetadata names, or else its slrt.io/fgac-profile annotation
// (both set must agree), provided the container's Kubernetes namespace
// (annotation) is one the profile allows, or the container is outside
// Kubernetes and the profile is standalone.
func (p *Policy) Select(metadata string, annotations map[string]string) (*Profile, error) {
	name := annotations[ProfileAnnotation]
	if metadata != "" {
		if name != "" && name != metadata {
			return nil, fmt.Errorf("%w: listenerMetadata asks for profile %q, annotation %s for %q", ErrDenied, metadata, ProfileAnnotation, name)
		}
		name = metadata
	}
	if name == "" {
		return nil, fmt.Errorf("%w: no profile asked for (listenerMetadata or annotation %s)", ErrDenied, ProfileAnnotation)
	}
	pr := p.byName[name]
	if pr == nil {
		return nil, fmt.Errorf("%w: no profile %q", ErrDenied, name)
	}
	ns, err := Namespace(annotations)
	if err != nil {
		return nil, err
	}
	if ns == "" {
		if !pr.Standalone {
			return nil, fmt.Errorf("%w: profile %q is for Kubernetes namespaces only, and the container has none", ErrDenied, name)
		}
		return pr, nil
	}
	for _, allowed := range pr.Namespaces {
		if allowed == "*" || allowed == ns {
			return pr, nil
		}
	}
	return nil, fmt.Errorf("%w: namespace %q may not use profile %q", ErrDenied, ns, name)
}

// Namespace is the container's Kubernetes namespace from the annotations
// containerd's CRI or CRI-O set ("" outside Kubernetes).
func Namespace(annotations map[string]string) (string, error) {
	a, b := annotations[NamespaceAnnotation], annotations[PodNamespaceAnnotation]
	if a != "" && b != "" && a != b {
		return "", fmt.Errorf("%w: annotations %s=%q and %s=%q disagree", ErrDenied, NamespaceAnnotation, a, PodNamespaceAnnotation, b)
	}
	if a == "" {
		a = b
	}
	return a, nil
}
